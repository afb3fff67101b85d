//! The queue in front of a group-commit writer. On SQLite a commit costs more than the
//! rows it writes, so writes that arrive together are taken together and committed in
//! one transaction; a lone write is taken at once, and nothing waits for company.

use std::collections::HashSet;
use std::hash::Hash;
use tokio::sync::mpsc;

/// Takes the next group from `queue`: waits for a first item, then takes what is queued
/// already, up to `max`. An item whose key is in the group already ends it and is held
/// over to lead the next one, so that two writes of one key (one deal, one buyer) are
/// made one after the other, the second seeing the first. `None` once the queue is
/// closed and empty.
pub async fn next_group<T, K: Eq + Hash>(
    queue: &mut mpsc::Receiver<T>,
    held_over: &mut Option<T>,
    max: usize,
    key: impl Fn(&T) -> K,
) -> Option<Vec<T>> {
    let first = match held_over.take() {
        Some(item) => item,
        None => queue.recv().await?,
    };
    let mut keys = HashSet::from([key(&first)]);
    let mut group = vec![first];
    while group.len() < max {
        let Ok(item) = queue.try_recv() else {
            break;
        };
        if !keys.insert(key(&item)) {
            *held_over = Some(item);
            break;
        }
        group.push(item);
    }
    Some(group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_write_of_one_key_leads_the_next_group() {
        let (send, mut queue) = mpsc::channel(16);
        for item in ["a", "b", "a", "c"] {
            send.send(item).await.expect("queued");
        }
        drop(send);
        let mut held_over = None;
        let mut groups = Vec::new();
        while let Some(group) = next_group(&mut queue, &mut held_over, 8, |s| *s).await {
            groups.push(group);
        }
        assert_eq!(groups, [vec!["a", "b"], vec!["a", "c"]]);
    }

    #[tokio::test]
    async fn a_group_holds_at_most_max() {
        let (send, mut queue) = mpsc::channel(16);
        for item in 0..5 {
            send.send(item).await.expect("queued");
        }
        drop(send);
        let mut held_over = None;
        let first = next_group(&mut queue, &mut held_over, 3, |n| *n).await;
        assert_eq!(first, Some(vec![0, 1, 2]));
    }
}
