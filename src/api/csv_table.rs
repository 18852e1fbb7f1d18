//! Reading an imported CSV: a header naming the columns, then one record per line, all read
//! before anything is written so that a bad line refuses the whole file.

use std::collections::HashMap;

use super::ApiError;

/// One CSV line's cells by column name, with its line number in the file.
pub struct CsvLine {
    pub number: usize,
    pub cells: HashMap<String, String>,
}

impl CsvLine {
    /// The cell of `column`, trimmed; empty when the column is absent.
    pub fn cell(&self, column: &str) -> &str {
        self.cells.get(column).map_or("", String::as_str)
    }

    /// The field name a problem in `column` of this line is reported under.
    pub fn at(&self, column: &str) -> String {
        format!("line {}: {column}", self.number)
    }

    /// The cell of `column` parsed, or `None` when empty; `what` names the expected value in
    /// the error ("a number").
    pub fn parsed<T: std::str::FromStr>(
        &self,
        column: &str,
        what: &str,
    ) -> Result<Option<T>, ApiError> {
        match self.cell(column) {
            "" => Ok(None),
            v => v
                .parse::<T>()
                .map(Some)
                .map_err(|_| ApiError::invalid(self.at(column), format!("`{v}` is not {what}"))),
        }
    }
}

/// The required `source` query parameter of an import: where the figures come from.
pub fn source_param(source: Option<&str>) -> Result<String, ApiError> {
    let s = source
        .ok_or_else(|| ApiError::invalid("source", "is required: where the figures come from"))?;
    Ok(crate::domain::required_text("source", s, 200)?)
}

/// Reads `text`: its header must name every `required` column and only `known` ones; blank
/// lines are skipped; at least one line must follow the header.
pub fn read_csv(text: &str, required: &[&str], known: &[&str]) -> Result<Vec<CsvLine>, ApiError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| ApiError::invalid("body", format!("the header line is not CSV: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    if let Some(name) = header.iter().find(|h| !known.contains(&h.as_str())) {
        return Err(ApiError::invalid(
            "body",
            format!(
                "unknown column `{name}`: the columns are {}",
                known.join(", ")
            ),
        ));
    }
    if let Some(missing) = required.iter().find(|r| !header.iter().any(|h| h == *r)) {
        return Err(ApiError::invalid(
            "body",
            format!("the header has no `{missing}` column"),
        ));
    }
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let number = i + 2;
        let record = record
            .map_err(|e| ApiError::invalid(format!("line {number}"), format!("is not CSV: {e}")))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        let cells = header
            .iter()
            .cloned()
            .zip(record.iter().map(str::to_string))
            .collect();
        out.push(CsvLine { number, cells });
    }
    if out.is_empty() {
        return Err(ApiError::invalid("body", "has no line after the header"));
    }
    Ok(out)
}
