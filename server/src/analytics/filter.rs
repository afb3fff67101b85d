//! The slice of the program a dashboard reads: months of decisions and the frozen deal
//! attributes every aggregate is keyed by. Parsed from the query string, each bad value a
//! 422 naming its parameter, and turned into SQL over the aggregates.

use crate::outreach::Outcome;
use crate::web::error::{ApiError, ApiResult};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The query parameters every dashboard takes.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterQuery {
    /// The first month of decisions (YYYY-MM), included.
    pub from: Option<String>,
    /// The last month (YYYY-MM), included.
    pub to: Option<String>,
    /// A segment's key.
    pub segment: Option<String>,
    /// won, lost, no_decision or declined.
    pub outcome: Option<String>,
    /// The competitor the deal met.
    pub competitor: Option<String>,
    /// The deal's region.
    pub region: Option<String>,
    /// The deal's product line.
    pub product_line: Option<String>,
}

/// A checked [`FilterQuery`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub from: Option<Month>,
    pub to: Option<Month>,
    pub segment: Option<String>,
    pub outcome: Option<Outcome>,
    pub competitor: Option<String>,
    pub region: Option<String>,
    pub product_line: Option<String>,
}

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    pub fn parse(text: &str) -> Option<Month> {
        let date = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").ok()?;
        (text.len() == 7).then(|| Month {
            year: date.year(),
            month: date.month(),
        })
    }

    pub fn of(date: impl Datelike) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    /// As stored: `2026-11`.
    pub fn label(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// Its quarter: `2026-Q4`.
    pub fn quarter(self) -> String {
        format!("{:04}-Q{}", self.year, (self.month - 1) / 3 + 1)
    }

    /// `n` months later (earlier when negative).
    pub fn plus(self, n: i32) -> Month {
        let index = self.year * 12 + i32::try_from(self.month).unwrap_or(1) - 1 + n;
        Month {
            year: index.div_euclid(12),
            month: u32::try_from(index.rem_euclid(12)).unwrap_or(0) + 1,
        }
    }
}

fn text(field: &str, value: Option<String>) -> ApiResult<Option<String>> {
    match value {
        Some(v) if v.is_empty() || v.chars().count() > 200 => {
            Err(ApiError::field(field, "must be 1 to 200 characters"))
        }
        // The aggregates' "every value" (see `rollups::ALL`), which no deal holds.
        Some(v) if v == crate::analytics::rollups::ALL => {
            Err(ApiError::field(field, "must name one value, not *"))
        }
        v => Ok(v),
    }
}

/// How [`Filter::sql`]'s conditions read the dimensions a cube is sliced by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slicing<'a> {
    /// A table of plain rows (responses, insights, invitations): a dimension not filtered
    /// on is not named.
    Plain,
    /// A cube (`20261201000001_slices.sql`) grouped by `by`: a dimension filtered on
    /// holds its value, the one grouped by any stored value, every other '*'.
    Cube { by: Option<&'a str> },
}

/// The dimensions the cubes are sliced by, as their columns are named.
pub const SLICED: [&str; 3] = ["segment_key", "region", "product_line"];

impl Filter {
    /// Takes the filter's parameters out of `params`.
    pub fn take(params: &mut Params) -> ApiResult<Filter> {
        Filter::parse(FilterQuery {
            from: params.take("from"),
            to: params.take("to"),
            segment: params.take("segment"),
            outcome: params.take("outcome"),
            competitor: params.take("competitor"),
            region: params.take("region"),
            product_line: params.take("product_line"),
        })
    }

    pub fn parse(q: FilterQuery) -> ApiResult<Filter> {
        let month = |field: &str, v: Option<String>| {
            v.map(|v| {
                Month::parse(&v).ok_or_else(|| ApiError::field(field, "must be a month as YYYY-MM"))
            })
            .transpose()
        };
        let from = month("from", q.from)?;
        let to = month("to", q.to)?;
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                return Err(ApiError::field("to", "must not be before from"));
            }
        }
        let outcome = q
            .outcome
            .map(|o| {
                o.parse::<Outcome>()
                    .map_err(|e| ApiError::field("outcome", e))
            })
            .transpose()?;
        Ok(Filter {
            from,
            to,
            segment: text("segment", q.segment)?,
            outcome,
            competitor: text("competitor", q.competitor)?,
            region: text("region", q.region)?,
            product_line: text("product_line", q.product_line)?,
        })
    }

    /// Refuses a region or product line where the aggregate read (`what`) is not sliced
    /// by them.
    pub fn without_slices(&self, what: &str) -> ApiResult<()> {
        for (field, value) in [
            ("region", &self.region),
            ("product_line", &self.product_line),
        ] {
            if value.is_some() {
                return Err(ApiError::field(
                    field,
                    format!("is not a dimension of {what}"),
                ));
            }
        }
        Ok(())
    }

    /// Refuses a competitor where invitations are read (`what`: the funnel,
    /// participation): an invitation's deal may have met several.
    pub fn without_competitor(&self, what: &str) -> ApiResult<()> {
        match self.competitor {
            Some(_) => Err(ApiError::field(
                "competitor",
                format!("is not a dimension of {what}: an invitation's deal may have met several"),
            )),
            None => Ok(()),
        }
    }

    /// The conditions over the key columns of plain rows (aliased `alias`), binding
    /// values through `bind`, joined by `and`; `1 = 1` when the filter is empty.
    pub fn sql(&self, alias: &str, bind: &mut impl FnMut(String) -> String) -> String {
        self.sql_with(alias, "competitor", Slicing::Plain, bind)
    }

    /// The conditions over a cube aliased `alias`, grouped by column `by`: exactly one
    /// slice of it (see [`Slicing::Cube`]).
    pub fn sliced(
        &self,
        alias: &str,
        by: Option<&str>,
        bind: &mut impl FnMut(String) -> String,
    ) -> String {
        self.sql_with(alias, "competitor", Slicing::Cube { by }, bind)
    }

    /// [`Filter::sql`] over `insights n`, whose deal's competitor is `deal_competitor`
    /// (its `competitor` is the one the buyer's words name).
    pub fn sql_insights(&self, bind: &mut impl FnMut(String) -> String) -> String {
        self.sql_with("n", "deal_competitor", Slicing::Plain, bind)
    }

    fn sql_with(
        &self,
        alias: &str,
        competitor: &str,
        slicing: Slicing,
        bind: &mut impl FnMut(String) -> String,
    ) -> String {
        let mut conditions = Vec::new();
        if let Some(from) = self.from {
            conditions.push(format!("{alias}.month >= {}", bind(from.label())));
        }
        if let Some(to) = self.to {
            conditions.push(format!("{alias}.month <= {}", bind(to.label())));
        }
        if let Some(v) = &self.competitor {
            conditions.push(format!("{alias}.{competitor} = {}", bind(v.clone())));
        }
        let sliced = [&self.segment, &self.region, &self.product_line];
        for (column, value) in SLICED.into_iter().zip(sliced) {
            match (value, slicing) {
                (Some(v), _) => {
                    conditions.push(format!("{alias}.{column} = {}", bind(v.clone())));
                }
                (None, Slicing::Plain) => {}
                // One index seek per value: `<> '*'` would read the cube.
                (None, Slicing::Cube { by }) if by == Some(column) => conditions.push(format!(
                    "{alias}.{column} in
                         (select value from slice_values where dimension = '{column}')"
                )),
                (None, Slicing::Cube { .. }) => conditions.push(format!("{alias}.{column} = '*'")),
            }
        }
        if let Some(outcome) = self.outcome {
            conditions.push(format!(
                "{alias}.outcome = {}",
                bind(outcome.as_str().to_owned())
            ));
        }
        if conditions.is_empty() {
            "1 = 1".to_owned()
        } else {
            conditions.join(" and ")
        }
    }
}

/// A query string read by hand: each parameter once, each one known, or a 422 naming it.
#[derive(Debug)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    pub fn of(req: &actix_web::HttpRequest) -> ApiResult<Params> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
            .map_err(|e| ApiError::field("query", e.to_string()))?;
        let mut map = BTreeMap::new();
        for (name, value) in pairs {
            if map.contains_key(&name) {
                return Err(ApiError::field(&name, "is given twice"));
            }
            map.insert(name, value);
        }
        Ok(Params(map))
    }

    pub fn take(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    /// Without the parameters given empty: a console form's "any" choice, which the API
    /// would refuse as an empty value.
    pub fn without_empty(mut self) -> Params {
        self.0.retain(|_, v| !v.is_empty());
        self
    }

    /// Refuses a parameter nobody took.
    pub fn finish(self) -> ApiResult<()> {
        match self.0.keys().next() {
            Some(name) if name.chars().count() <= 40 => {
                Err(ApiError::field(name, "is not a parameter of this endpoint"))
            }
            Some(_) => Err(ApiError::field("query", "names an unknown parameter")),
            None => Ok(()),
        }
    }
}

/// Collects values to bind as `$1`, `$2`…, in order.
#[derive(Debug, Default)]
pub struct Binds(pub Vec<String>);

impl Binds {
    pub fn bind(&mut self, value: String) -> String {
        self.0.push(value);
        format!("${}", self.0.len())
    }

    /// `sql` with every value bound, in order.
    pub fn query_as<'q, O>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>
    where
        O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        self.0
            .iter()
            .fold(sqlx::query_as(sql), |q, value| q.bind(value.as_str()))
    }
}

/// What a dashboard handler starts from: the caller may read participation, the filter
/// is read (the handler takes its own parameters, then [`Params::finish`]es), the rating
/// coder has caught up (the answers stored before the request are counted), and the
/// taxonomy in force is at hand.
pub struct Dashboard {
    pub filter: Filter,
    pub params: Params,
    pub taxonomy: crate::insights::taxonomy::Taxonomy,
    pub db: actix_web::web::Data<crate::platform::db::Db>,
}

impl actix_web::FromRequest for Dashboard {
    type Error = ApiError;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        use actix_web::web::Data;
        let staff = crate::auth::Staff::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let staff = staff.await?;
            staff.require(crate::auth::Permission::ReadParticipation)?;
            let mut params = Params::of(&req)?;
            let filter = Filter::take(&mut params)?;
            let app = |what: &'static str| anyhow::anyhow!("{what} is not registered");
            let db = req
                .app_data::<Data<crate::platform::db::Db>>()
                .cloned()
                .ok_or_else(|| app("the database"))?;
            let definitions = req
                .app_data::<Data<crate::surveys::definitions::Definitions>>()
                .ok_or_else(|| app("the survey definitions"))?;
            let clock = req
                .app_data::<Data<crate::app::clock::Clock>>()
                .ok_or_else(|| app("the clock"))?;
            crate::insights::coding::catch_up(&db, definitions, clock.now()).await?;
            let (_, taxonomy) = crate::insights::taxonomy::VERSIONS.current(&db).await?;
            Ok(Dashboard {
                filter,
                params,
                taxonomy,
                db,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_strictly_and_step_across_years() {
        assert_eq!(
            Month::parse("2026-11").map(Month::label).as_deref(),
            Some("2026-11")
        );
        for bad in ["2026-13", "2026-1", "26-11", "2026-11-01", "nope"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        let nov = Month::parse("2026-11").expect("month");
        assert_eq!(nov.plus(2).label(), "2027-01");
        assert_eq!(nov.plus(-11).label(), "2025-12");
        assert_eq!(nov.quarter(), "2026-Q4");
    }

    #[test]
    fn a_filter_names_the_bad_parameter() {
        let field = |q: FilterQuery| match Filter::parse(q) {
            Err(ApiError::Validation(errors)) => errors[0].field.clone(),
            other => panic!("refused: {other:?}"),
        };
        let q = |f: &dyn Fn(&mut FilterQuery)| {
            let mut q = FilterQuery::default();
            f(&mut q);
            q
        };
        assert_eq!(field(q(&|q| q.from = Some("2026/11".into()))), "from");
        assert_eq!(
            field(q(&|q| {
                q.from = Some("2026-11".into());
                q.to = Some("2026-10".into());
            })),
            "to"
        );
        assert_eq!(field(q(&|q| q.outcome = Some("maybe".into()))), "outcome");
        assert_eq!(field(q(&|q| q.segment = Some(String::new()))), "segment");
        assert_eq!(field(q(&|q| q.region = Some("*".into()))), "region");
    }

    #[test]
    fn a_cube_is_read_one_slice_at_a_time() {
        let filter = Filter {
            region: Some("EMEA".into()),
            ..Filter::default()
        };
        let mut binds = Binds::default();
        let sql = filter.sliced("r", Some("segment_key"), &mut |v| binds.bind(v));
        assert!(sql.contains("r.region = $1"), "{sql}");
        assert!(sql.contains("r.product_line = '*'"), "{sql}");
        assert!(sql.contains("r.segment_key in"), "{sql}");
        assert_eq!(binds.0, ["EMEA"]);
        // Plain rows name only what is filtered.
        let plain = filter.sql("r", &mut |v| v);
        assert_eq!(plain, "r.region = EMEA");
    }
}
