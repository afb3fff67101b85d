//! Exports for analysts' own tools: responses, coded insights and participation, as CSV or
//! JSON Lines, filtered like the dashboards (months, segment, outcome).
//!
//! An export is streamed: one query is read row by row on its own connection (one
//! snapshot of the store), each record written to a buffer that goes out every 32 KiB
//! through a channel of four buffers. The server holds a few buffers whatever the size
//! of the export, and a client that reads slowly slows the query down rather than making
//! it pile up; one that goes away stops it.
//!
//! In CSV, a text cell that a spreadsheet would read as a formula (it starts with `=`,
//! `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'`, as OWASP advises:
//! buyers type these words, and an analyst opens the file.

pub mod routes;

use crate::platform::db::Db;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use futures_util::StreamExt;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

/// One cell of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
    /// A nested value: JSON in a JSON line, its JSON text in a CSV cell.
    Json(Value),
}

impl From<Option<String>> for Cell {
    fn from(v: Option<String>) -> Cell {
        Cell::Text(v)
    }
}

impl From<String> for Cell {
    fn from(v: String) -> Cell {
        Cell::Text(Some(v))
    }
}

impl From<Option<i64>> for Cell {
    fn from(v: Option<i64>) -> Cell {
        Cell::Int(v)
    }
}

impl From<i64> for Cell {
    fn from(v: i64) -> Cell {
        Cell::Int(Some(v))
    }
}

/// CSV or JSON Lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::JsonLines => "application/jsonl; charset=utf-8",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
        }
    }
}

/// A text as a spreadsheet will not run it.
pub fn neutralised(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

/// Writes records in a format to a buffer.
struct Writer {
    format: Format,
    columns: &'static [&'static str],
    csv: csv::Writer<Vec<u8>>,
    lines: Vec<u8>,
}

impl Writer {
    fn new(format: Format, columns: &'static [&'static str]) -> anyhow::Result<Writer> {
        let mut csv = csv::Writer::from_writer(Vec::with_capacity(CHUNK * 2));
        if format == Format::Csv {
            csv.write_record(columns)?;
        }
        Ok(Writer {
            format,
            columns,
            csv,
            lines: Vec::with_capacity(CHUNK * 2),
        })
    }

    fn write(&mut self, record: Vec<Cell>) -> anyhow::Result<()> {
        match self.format {
            Format::Csv => {
                let cells: Vec<String> = record
                    .into_iter()
                    .map(|cell| match cell {
                        Cell::Text(None) | Cell::Int(None) => String::new(),
                        Cell::Text(Some(t)) => neutralised(&t).into_owned(),
                        Cell::Int(Some(n)) => n.to_string(),
                        Cell::Json(v) => neutralised(&v.to_string()).into_owned(),
                    })
                    .collect();
                self.csv.write_record(&cells)?;
            }
            Format::JsonLines => {
                let object: Map<String, Value> = self
                    .columns
                    .iter()
                    .zip(record)
                    .map(|(name, cell)| {
                        let value = match cell {
                            Cell::Text(t) => t.map_or(Value::Null, Value::String),
                            Cell::Int(n) => n.map_or(Value::Null, Value::from),
                            Cell::Json(v) => v,
                        };
                        ((*name).to_owned(), value)
                    })
                    .collect();
                serde_json::to_writer(&mut self.lines, &object)?;
                self.lines.push(b'\n');
            }
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.csv.get_ref().len() + self.lines.len()
    }

    /// What is written so far, taken out.
    fn take(&mut self) -> anyhow::Result<Bytes> {
        let fresh = csv::Writer::from_writer(Vec::with_capacity(CHUNK * 2));
        let csv = std::mem::replace(&mut self.csv, fresh)
            .into_inner()
            .map_err(|e| anyhow::anyhow!("flushing the CSV: {}", e.error()))?;
        let lines = std::mem::replace(&mut self.lines, Vec::with_capacity(CHUNK * 2));
        Ok(Bytes::from(if csv.is_empty() { lines } else { csv }))
    }
}

/// Exports under way at once: each holds a pooled connection for as long as it runs (on
/// SQLite the pool has four, shared with the buyers' answers and the job runner).
const AT_ONCE: usize = 2;
static UNDER_WAY: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(AT_ONCE);
/// How long a chunk may wait for a client that stopped reading before the export ends,
/// giving its connection back.
const STALLED: std::time::Duration = std::time::Duration::from_secs(60);

/// Bytes a chunk holds before it goes out.
const CHUNK: usize = 32 * 1024;
/// Chunks in flight between the query and the client.
const IN_FLIGHT: usize = 4;

/// What turns an export's rows into its records: rows may come several to a record (a
/// response and its answers), so a record is given when the next one starts, and the
/// last at the end.
pub trait Records: Send + 'static {
    type Row: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin + 'static;
    fn columns(&self) -> &'static [&'static str];
    fn push(&mut self, row: Self::Row) -> Option<Vec<Cell>>;
    fn finish(&mut self) -> Option<Vec<Cell>> {
        None
    }
}

/// Records of one row each, its cells its fields in `columns`' order: the row serialises
/// to an object whose names are the columns (text, whole numbers, or none).
pub struct Flat<R> {
    columns: &'static [&'static str],
    row: std::marker::PhantomData<fn(R)>,
}

impl<R> Flat<R> {
    pub fn new(columns: &'static [&'static str]) -> Flat<R> {
        Flat {
            columns,
            row: std::marker::PhantomData,
        }
    }
}

impl<R> Records for Flat<R>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + serde::Serialize + Send + Unpin + 'static,
{
    type Row = R;

    fn columns(&self) -> &'static [&'static str] {
        self.columns
    }

    fn push(&mut self, row: R) -> Option<Vec<Cell>> {
        let Ok(Value::Object(fields)) = serde_json::to_value(&row) else {
            return None;
        };
        Some(
            self.columns
                .iter()
                .map(|c| match fields.get(*c) {
                    Some(Value::String(s)) => Cell::Text(Some(s.clone())),
                    Some(Value::Number(n)) => Cell::Int(n.as_i64()),
                    Some(other) if !other.is_null() => Cell::Json(other.clone()),
                    _ => Cell::Text(None),
                })
                .collect(),
        )
    }
}

/// Streams the records of `sql` (with `binds` as `$1`, `$2`…) as a download named
/// `name`.
pub fn stream<R: Records>(
    db: &Db,
    sql: String,
    binds: Vec<String>,
    mut records: R,
    format: Format,
    name: &str,
) -> crate::web::error::ApiResult<HttpResponse> {
    let Ok(permit) = UNDER_WAY.try_acquire() else {
        return Err(crate::web::error::ApiError::TooBusy(
            "two exports are under way: try again when one has finished",
        ));
    };
    let mut writer = Writer::new(format, records.columns())?;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(IN_FLIGHT);
    let pool = db.pool().clone();
    tokio::spawn(async move {
        let _permit = permit;
        // A chunk out, unless the client went away or stopped reading: then false.
        let send = |tx: &mpsc::Sender<Result<Bytes, std::io::Error>>, chunk: Bytes| {
            let tx = tx.clone();
            async move {
                matches!(
                    tokio::time::timeout(STALLED, tx.send(Ok(chunk))).await,
                    Ok(Ok(()))
                )
            }
        };
        let result: anyhow::Result<()> = async {
            let mut conn = pool.acquire().await?;
            let mut query = sqlx::query_as::<_, R::Row>(&sql);
            for b in &binds {
                query = query.bind(b.as_str());
            }
            let mut rows = query.fetch(&mut *conn);
            while let Some(row) = rows.next().await {
                if let Some(record) = records.push(row?) {
                    writer.write(record)?;
                }
                if writer.len() >= CHUNK && !send(&tx, writer.take()?).await {
                    // The client went away or stalled: stop reading.
                    return Ok(());
                }
            }
            if let Some(record) = records.finish() {
                writer.write(record)?;
            }
            send(&tx, writer.take()?).await;
            Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "an export failed midway");
            // The client sees the response cut short, not a file that looks whole.
            let _ = tx
                .send(Err(std::io::Error::other("the export failed midway")))
                .await;
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}.{}\"", format.extension()),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .streaming(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spreadsheet_never_reads_a_buyers_words_as_a_formula() {
        for attack in [
            "=HYPERLINK(\"http://evil.example\",\"click\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(neutralised(attack), format!("'{attack}"), "{attack:?}");
        }
        assert_eq!(neutralised("Le prix, surtout."), "Le prix, surtout.");
        assert_eq!(neutralised(""), "");
    }

    #[test]
    fn numbers_stay_numbers_and_text_is_quoted_as_csv_wants() {
        let mut w = Writer::new(Format::Csv, &["a", "b", "c"]).expect("writer");
        w.write(vec![
            Cell::Int(Some(-2)),
            Cell::Text(Some("=1+1, \"quoted\"\nnext".into())),
            Cell::Text(None),
        ])
        .expect("write");
        let text = String::from_utf8(w.take().expect("take").to_vec()).expect("utf-8");
        assert_eq!(text, "a,b,c\n-2,\"'=1+1, \"\"quoted\"\"\nnext\",\n");

        let mut w = Writer::new(Format::JsonLines, &["a", "b", "c"]).expect("writer");
        w.write(vec![
            Cell::Int(Some(-2)),
            Cell::Text(Some("=1+1".into())),
            Cell::Json(serde_json::json!({ "nps": 9 })),
        ])
        .expect("write");
        let text = String::from_utf8(w.take().expect("take").to_vec()).expect("utf-8");
        assert_eq!(text, "{\"a\":-2,\"b\":\"=1+1\",\"c\":{\"nps\":9}}\n");
    }
}
