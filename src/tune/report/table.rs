//! The part of `tabulate` that Ray Tune's console tables use: its rounded box format
//! (`╭─╮ │ ├─┤ ╰─╯`), column types (numbers right-aligned on their decimal point, text
//! left-aligned), Python's `g` format for floats, and column widths of at least the header
//! plus two.

use super::format::{py_g, py_repr_float};

/// One table cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Text.
    Str(String),
    /// An integer.
    Int(i128),
    /// A float (printed with Python's `g` format in a numeric column).
    Float(f64),
    /// No value (an empty cell).
    Missing,
}

/// Column alignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    /// Padded on the right.
    Left,
    /// Padded on the left.
    Right,
    /// Numbers aligned on their decimal point, then padded on the left (tabulate's default
    /// for numeric columns).
    Decimal,
}

/// A table to render.
#[derive(Clone, Debug)]
pub struct Table {
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows of cells, one per header.
    pub rows: Vec<Vec<Cell>>,
    /// Alignment per column (`None`: by column type).
    pub colalign: Option<Vec<Align>>,
    /// Columns are at least as wide as their header plus this (tabulate's 2).
    pub min_padding: usize,
    /// Spaces between columns (Ray's format: 3).
    pub gap: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ColType {
    Int,
    Float,
    Str,
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// tabulate's `_afterpoint`: digits after the decimal point (or the exponent), -1 for
/// integers and text.
fn afterpoint(s: &str, numeric: bool) -> isize {
    if !numeric || s.is_empty() {
        return -1;
    }
    let pos = s.rfind('.').or_else(|| s.to_ascii_lowercase().rfind('e'));
    match pos {
        Some(p) if s.parse::<f64>().is_ok() && s.parse::<i128>().is_err() => {
            (s.len() - p - 1) as isize
        }
        _ => -1,
    }
}

impl Table {
    /// A table with Ray's defaults (padding 2, gap 3, alignment by type).
    pub fn new(headers: Vec<String>, rows: Vec<Vec<Cell>>) -> Self {
        Table {
            headers,
            rows,
            colalign: None,
            min_padding: 2,
            gap: 3,
        }
    }

    fn col_type(&self, c: usize) -> ColType {
        let mut t = ColType::Int;
        let mut any = false;
        for row in &self.rows {
            match row.get(c) {
                Some(Cell::Int(_)) => any = true,
                Some(Cell::Float(_)) => {
                    any = true;
                    if t == ColType::Int {
                        t = ColType::Float;
                    }
                }
                Some(Cell::Str(_)) => return ColType::Str,
                Some(Cell::Missing) | None => {}
            }
        }
        if any {
            t
        } else {
            ColType::Str
        }
    }

    /// The formatted, padded cells of column `c` and its width.
    fn column(&self, c: usize) -> (Vec<String>, usize, Align) {
        let ty = self.col_type(c);
        let numeric = ty != ColType::Str;
        let texts: Vec<String> = self
            .rows
            .iter()
            .map(|row| match (row.get(c).unwrap_or(&Cell::Missing), ty) {
                (Cell::Missing, _) => String::new(),
                (Cell::Str(s), _) => s.clone(),
                (Cell::Int(i), ColType::Float) => py_g(*i as f64),
                (Cell::Int(i), _) => i.to_string(),
                (Cell::Float(x), ColType::Str) => py_repr_float(*x),
                (Cell::Float(x), _) => py_g(*x),
            })
            .collect();
        let align = self
            .colalign
            .as_ref()
            .and_then(|a| a.get(c).copied())
            .unwrap_or(if numeric { Align::Decimal } else { Align::Left });
        let texts = if align == Align::Decimal {
            let decs: Vec<isize> = texts.iter().map(|s| afterpoint(s, numeric)).collect();
            let max = decs.iter().copied().max().unwrap_or(-1);
            texts
                .into_iter()
                .zip(decs)
                .map(|(s, d)| format!("{s}{}", " ".repeat((max - d) as usize)))
                .collect()
        } else {
            texts
        };
        let header_w = self.headers.get(c).map_or(0, |h| char_len(h)) + self.min_padding;
        let width = texts
            .iter()
            .map(|s| char_len(s))
            .max()
            .unwrap_or(0)
            .max(header_w);
        (texts, width, align)
    }

    /// Column widths, in order.
    pub fn widths(&self) -> Vec<usize> {
        (0..self.headers.len()).map(|c| self.column(c).1).collect()
    }

    /// The rendered width in characters.
    pub fn width(&self) -> usize {
        let w = self.widths();
        4 + w.iter().sum::<usize>() + self.gap * w.len().saturating_sub(1)
    }

    /// Renders the table, one line per row, without a trailing newline.
    pub fn render(&self) -> String {
        let cols: Vec<(Vec<String>, usize, Align)> =
            (0..self.headers.len()).map(|c| self.column(c)).collect();
        let pad = |s: &str, w: usize, left: bool| {
            let fill = " ".repeat(w.saturating_sub(char_len(s)));
            if left {
                format!("{s}{fill}")
            } else {
                format!("{fill}{s}")
            }
        };
        let gap = " ".repeat(self.gap);
        let line = |cells: Vec<String>| format!("│ {} │", cells.join(&gap));
        let inner =
            2 + cols.iter().map(|c| c.1).sum::<usize>() + self.gap * cols.len().saturating_sub(1);
        let rule = |l: char, r: char| format!("{l}{}{r}", "─".repeat(inner));
        let mut out = vec![rule('╭', '╮')];
        out.push(line(
            cols.iter()
                .zip(&self.headers)
                .map(|((_, w, a), h)| pad(h, *w, *a == Align::Left))
                .collect(),
        ));
        out.push(rule('├', '┤'));
        for r in 0..self.rows.len() {
            out.push(line(
                cols.iter()
                    .map(|(texts, w, a)| pad(&texts[r], *w, *a == Align::Left))
                    .collect(),
            ));
        }
        out.push(rule('╰', '╯'));
        out.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_align_on_the_decimal_point() {
        let t = Table::new(
            vec!["x".into()],
            vec![
                vec![Cell::Float(12.5)],
                vec![Cell::Float(398.809)],
                vec![Cell::Int(1)],
                vec![Cell::Missing],
            ],
        );
        let r = t.render();
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(lines[3], "│  12.5   │");
        assert_eq!(lines[4], "│ 398.809 │");
        assert_eq!(lines[5], "│   1     │");
        assert_eq!(lines[6], "│         │");
        assert_eq!(t.width(), char_len(lines[0]));
    }
}
