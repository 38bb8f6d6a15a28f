//! `switchboard usage` output: aggregates as an aligned table, JSON or CSV.

use super::queries::{Aggregate, GroupBy};
use crate::api::usage::{nano_to_usd, usd_text};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Table,
    Json,
    Csv,
}

const HEADERS: [&str; 6] = ["requests", "errors", "cancelled", "prompt_tokens", "completion_tokens", "cost_usd"];

pub fn render(by: GroupBy, rows: &[Aggregate], format: ReportFormat) -> String {
    match format {
        ReportFormat::Table => table(by, rows),
        ReportFormat::Json => json(by, rows),
        ReportFormat::Csv => csv(by, rows),
    }
}

fn cells(a: &Aggregate) -> [String; 6] {
    [
        a.requests.to_string(),
        a.errors.to_string(),
        a.cancelled.to_string(),
        a.prompt_tokens.to_string(),
        a.completion_tokens.to_string(),
        usd_text(a.cost_nano),
    ]
}

fn table(by: GroupBy, rows: &[Aggregate]) -> String {
    if rows.is_empty() {
        return "no requests in this period\n".into();
    }
    let total = Aggregate {
        group: "TOTAL".into(),
        requests: rows.iter().map(|a| a.requests).sum(),
        errors: rows.iter().map(|a| a.errors).sum(),
        cancelled: rows.iter().map(|a| a.cancelled).sum(),
        prompt_tokens: rows.iter().map(|a| a.prompt_tokens).sum(),
        completion_tokens: rows.iter().map(|a| a.completion_tokens).sum(),
        cost_nano: rows.iter().map(|a| a.cost_nano).sum(),
    };
    let mut lines: Vec<(String, [String; 6])> = vec![(by.label().to_uppercase(), HEADERS.map(str::to_uppercase))];
    lines.extend(rows.iter().chain([&total]).map(|a| (a.group.clone(), cells(a))));
    let first = lines.iter().map(|(g, _)| g.chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..6).map(|i| lines.iter().map(|(_, c)| c[i].len()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (group, cells) in &lines {
        let pad = first - group.chars().count();
        out.push_str(group);
        out.push_str(&" ".repeat(pad));
        for (cell, width) in cells.iter().zip(&widths) {
            out.push_str(&format!("  {cell:>width$}"));
        }
        out.push('\n');
    }
    out
}

fn json(by: GroupBy, rows: &[Aggregate]) -> String {
    let items: Vec<_> = rows
        .iter()
        .map(|a| {
            json!({
                by.label(): a.group,
                "requests": a.requests,
                "errors": a.errors,
                "cancelled": a.cancelled,
                "prompt_tokens": a.prompt_tokens,
                "completion_tokens": a.completion_tokens,
                "cost_usd": nano_to_usd(a.cost_nano),
                "cost_nano_usd": a.cost_nano,
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&items).unwrap_or_default();
    text.push('\n');
    text
}

fn csv(by: GroupBy, rows: &[Aggregate]) -> String {
    let mut out = format!("{},{}\n", by.label(), HEADERS.join(","));
    for a in rows {
        out.push_str(&csv_field(&a.group));
        for cell in cells(a) {
            out.push(',');
            out.push_str(&cell);
        }
        out.push('\n');
    }
    out
}

/// RFC 4180: quote a field holding a comma, quote or line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Aggregate> {
        vec![
            Aggregate {
                group: "alice".into(),
                requests: 12,
                errors: 1,
                cancelled: 0,
                prompt_tokens: 3400,
                completion_tokens: 1200,
                cost_nano: 1_234_500,
            },
            Aggregate { group: "b,ob".into(), requests: 3, errors: 0, cancelled: 1, prompt_tokens: 10, completion_tokens: 2, cost_nano: 7 },
        ]
    }

    #[test]
    fn table_is_aligned_with_a_total() {
        assert_eq!(
            render(GroupBy::Key, &rows(), ReportFormat::Table),
            "KEY    REQUESTS  ERRORS  CANCELLED  PROMPT_TOKENS  COMPLETION_TOKENS     COST_USD\n\
             alice        12       1          0           3400               1200    0.0012345\n\
             b,ob          3       0          1             10                  2  0.000000007\n\
             TOTAL        15       1          1           3410               1202  0.001234507\n"
        );
        assert_eq!(render(GroupBy::Day, &[], ReportFormat::Table), "no requests in this period\n");
    }

    #[test]
    fn csv_quotes_and_json_keeps_exact_nano() {
        assert_eq!(
            render(GroupBy::Key, &rows(), ReportFormat::Csv),
            "key,requests,errors,cancelled,prompt_tokens,completion_tokens,cost_usd\n\
             alice,12,1,0,3400,1200,0.0012345\n\
             \"b,ob\",3,0,1,10,2,0.000000007\n"
        );
        let v: serde_json::Value = serde_json::from_str(&render(GroupBy::Model, &rows(), ReportFormat::Json)).unwrap();
        assert_eq!(v[0]["model"], "alice");
        assert_eq!(v[1]["cost_nano_usd"], 7);
    }
}
