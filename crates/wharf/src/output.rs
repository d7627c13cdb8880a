//! Everything the CLI prints for people or scripts goes through here (logs go to
//! stderr through `tracing`).

#![expect(clippy::print_stdout, reason = "this module is the CLI's stdout")]

use serde::Serialize;

/// Output format of commands that print data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Human,
    /// JSON for scripts.
    Json,
}

/// Prints a line.
pub fn line(text: impl std::fmt::Display) {
    println!("{text}");
}

/// Prints text as it is (it ends with its own newline, or gets one).
pub fn text(text: &str) {
    if text.ends_with('\n') {
        print!("{text}");
    } else {
        println!("{text}");
    }
}

/// Prints a warning for people on stderr (stdout stays the command's output).
pub fn warn(text: &str) {
    eprintln!("warning: {text}");
}

/// Prints a value as pretty JSON.
pub fn json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => println!("{{\"error\": \"{e}\"}}"),
    }
}

/// Prints a value as one line of JSON (a stream of events: JSON Lines).
pub fn json_line<T: Serialize>(value: &T) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match serde_json::to_string(value) {
        Ok(s) => {
            let _ = writeln!(out, "{s}");
        }
        Err(e) => {
            let _ = writeln!(out, "{{\"error\": \"{e}\"}}");
        }
    }
    let _ = out.flush();
}

/// Prints rows under headers, columns aligned.
fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let render = |cells: Vec<String>| {
        let parts: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", parts.join("  ").trim_end());
    };
    render(headers.iter().map(|h| h.to_uppercase()).collect());
    for row in rows {
        render(row.clone());
    }
}

/// Prints rows as JSON, or as a table with `headers` and the cells from `cells`.
pub fn rows<T: Serialize>(format: Format, rows: &[T], headers: &[&str], cells: impl Fn(&T) -> Vec<String>) {
    match format {
        Format::Json => json(&rows),
        Format::Human => table(headers, &rows.iter().map(cells).collect::<Vec<_>>()),
    }
}
