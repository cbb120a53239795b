//! The relay's log: one JSON object per line on stderr, which CloudWatch (and `jq`) read as is.
//!
//! A delivery is logged as one line carrying the fields of its `delivery` span (`id`, `kind`,
//! `org`, `project`, `stack`, `filter`, `route`), recorded as the pipeline learns them, beside the
//! event's own (`outcome`, `status`, `latency_ms` …), all at the top level:
//! `{"level":"INFO","message":"delivered","id":"…",…,"target":"handler::app"}`.
//!
//! Written here rather than with `tracing-subscriber`'s JSON format, which nests span fields
//! under `"span"` (or drops them): the line's shape is a contract with the README and with
//! queries over the logs.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Record};
use tracing::{Event, Id, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Installs the log for the process: `filter` picks what is written.
pub fn init(filter: Targets) {
    tracing_subscriber::registry()
        .with(filter)
        .with(SpanFields)
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(Line)
                .with_writer(std::io::stderr),
        )
        .init();
}

/// A span's fields as JSON members (`"name":value`), in the order they were declared.
struct Fields(Vec<(&'static str, String)>);

impl Fields {
    fn set(&mut self, name: &'static str, json: String) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, value)) => *value = json,
            None => self.0.push((name, json)),
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field.name(), json_string(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field.name(), value.to_string());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field.name(), value.to_string());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field.name(), json_number(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field.name(), value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.set(field.name(), json_string(&format!("{value:?}")));
    }
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).expect("a str always serializes")
}

fn json_number(value: f64) -> String {
    serde_json::Number::from_f64(value).map_or_else(|| "null".to_owned(), |n| n.to_string())
}

/// Keeps each span's fields, updated by `Span::record`.
struct SpanFields;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SpanFields {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields(Vec::new());
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(fields);
        }
    }
}

/// One line: level, the event's message, the fields of its spans (outermost first), the event's
/// other fields, and its target.
struct Line;

impl<S, N> FormatEvent<S, N> for Line
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut own = Fields(Vec::new());
        event.record(&mut own);
        let mut line = String::with_capacity(256);
        line.push_str("{\"level\":");
        line.push_str(&json_string(event.metadata().level().as_str()));
        let mut member = |name: &str, json: &str| {
            let _ = write!(line, ",{}:{json}", json_string(name));
        };
        if let Some((_, message)) = own.0.iter().find(|(name, _)| *name == "message") {
            member("message", message);
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<Fields>() {
                    for (name, json) in &fields.0 {
                        member(name, json);
                    }
                }
            }
        }
        for (name, json) in own.0.iter().filter(|(name, _)| *name != "message") {
            member(name, json);
        }
        member("target", &json_string(event.metadata().target()));
        line.push('}');
        writeln!(writer, "{line}")
    }
}
