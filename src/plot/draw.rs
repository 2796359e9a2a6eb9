//! Drawing a [`Figure`] with plotters, on any backend (bitmap for PNG, SVG).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure::{Figure, Panel};

/// matplotlib's `tab10`, the colours RL users' plots have.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

const FONT: &str = "sans-serif";
/// Panels per row.
const COLUMNS: usize = 3;
/// Lines with fewer points also get a dot per point (evaluations are sparse).
const MARKERS_BELOW: usize = 25;
/// Panels that carry the legend: the first (training return); the others share its colours.
const LEGEND_PANELS: usize = 1;

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Draws `fig` over the whole of `root`: its title, then its panels in rows of three.
pub fn draw_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &Figure,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let body = root.titled(&fig.title, (FONT, 26))?;
    let rows = fig.panels.len().div_ceil(COLUMNS).max(1);
    let areas = body.split_evenly((rows, COLUMNS));
    for (i, (area, panel)) in areas.iter().zip(&fig.panels).enumerate() {
        draw_panel(area, panel, &fig.x_label, i < LEGEND_PANELS)?;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    x_label: &str,
    legend: bool,
) -> DrawResult<DB> {
    if panel.is_empty() {
        let inner = area.titled(&panel.title, (FONT, 20))?;
        let (w, h) = inner.dim_in_pixel();
        let style = TextStyle::from((FONT, 15).into_font())
            .color(&RGBColor(120, 120, 120))
            .pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ));
        inner.draw_text(
            &format!("no {} in the results", panel.y_label),
            &style,
            (w as i32 / 2, h as i32 / 2),
        )?;
        return Ok(());
    }
    let (x_range, y_range) = ranges(panel);
    let (x_tick, y_tick) = (tick_formatter(&x_range), tick_formatter(&y_range));
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(64)
        .build_cartesian_2d(x_range, y_range)?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .x_desc(x_label)
        .y_desc(&panel.y_label)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .x_label_formatter(&x_tick)
        .y_label_formatter(&y_tick)
        .x_labels(6)
        .y_labels(6)
        .draw()?;

    for band in &panel.bands {
        if band.points.is_empty() {
            continue;
        }
        let fill = color(band.color).mix(0.2);
        let outline: Vec<(f64, f64)> = band
            .points
            .iter()
            .map(|&(x, _, hi)| (x, hi))
            .chain(band.points.iter().rev().map(|&(x, lo, _)| (x, lo)))
            .collect();
        chart
            .draw_series(std::iter::once(Polygon::new(outline, fill.filled())))?
            .label(&band.label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 20, y + 6)], fill.filled()));
    }
    // Plain lines first, the highlighted one on top.
    let mut lines: Vec<_> = panel
        .lines
        .iter()
        .filter(|l| !l.points.is_empty())
        .collect();
    lines.sort_by_key(|l| l.highlight);
    for line in lines {
        let c = color(line.color);
        let style = c.stroke_width(if line.highlight { 3 } else { 1 });
        chart
            .draw_series(LineSeries::new(line.points.iter().copied(), style))?
            .label(&line.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        if line.points.len() < MARKERS_BELOW {
            let r = if line.highlight { 4 } else { 3 };
            chart.draw_series(line.points.iter().map(|&p| Circle::new(p, r, c.filled())))?;
        }
    }
    if legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font((FONT, 13))
            .draw()?;
    }
    Ok(())
}

/// The panel's x and y extents, padded so curves do not touch the frame.
fn ranges(panel: &Panel) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    let xs = panel
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .chain(
            panel
                .bands
                .iter()
                .flat_map(|b| b.points.iter().map(|p| p.0)),
        );
    let ys = panel
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .chain(
            panel
                .bands
                .iter()
                .flat_map(|b| b.points.iter().flat_map(|p| [p.1, p.2])),
        );
    (padded(xs, 0.0), padded(ys, 0.05))
}

fn padded(values: impl Iterator<Item = f64>, pad: f64) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        return 0.0..1.0;
    }
    let span = hi - lo;
    if span == 0.0 {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d)..(hi + d);
    }
    (lo - span * pad)..(hi + span * pad)
}

/// Tick labels for an axis over `range`: as many decimals as its ~6 ticks need, `k` / `M`
/// for large values (`50k`, `1.2M`), scientific notation for tiny ones.
fn tick_formatter(range: &std::ops::Range<f64>) -> impl Fn(&f64) -> String {
    let max = range.start.abs().max(range.end.abs());
    let (scale, suffix) = if max >= 1e6 {
        (1e6, "M")
    } else if max >= 1e4 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let step = (range.end - range.start) / 6.0 / scale;
    let decimals = if step > 0.0 && step.is_finite() {
        // One more than the step's magnitude needs: steps of 2.5 or 0.25 exist.
        ((-step.log10()).ceil().max(0.0) as usize + 1).min(9)
    } else {
        0
    };
    let scientific = max < 1e-3;
    move |&v| {
        if scientific {
            return if v == 0.0 {
                "0".to_string()
            } else {
                format!("{v:.1e}")
            };
        }
        let mut s = format!("{:.*}", decimals, v / scale);
        if s.contains('.') {
            s = s.trim_end_matches('0').trim_end_matches('.').to_string();
        }
        if s == "-0" {
            s = "0".to_string(); // a tick at zero computed as -1e-17
        }
        format!("{s}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_read_short() {
        let t = |range: std::ops::Range<f64>, v: f64| tick_formatter(&range)(&v);
        assert_eq!(t(0.0..1_500_000.0, 1_200_000.0), "1.2M");
        assert_eq!(t(0.0..50_000.0, 50_000.0), "50k");
        assert_eq!(t(0.0..50_000.0, 10_000.0), "10k");
        assert_eq!(t(0.0..15_000.0, 7_500.0), "7.5k");
        assert_eq!(t(0.0..500.0, 100.0), "100");
        assert_eq!(t(0.0..500.0, 500.0), "500");
        // Close ticks keep the decimals that tell them apart.
        assert_eq!(t(9.155..9.178, 9.172), "9.172");
        assert_eq!(t(9.155..9.178, 9.168), "9.168");
        assert_eq!(t(-0.35..0.2, -0.1), "-0.1");
        assert_eq!(t(-0.35..0.2, -2.7e-17), "0");
        assert_eq!(t(0.0..0.03, 0.015), "0.015");
        assert_eq!(t(0.0..0.0005, 0.00025), "2.5e-4");
    }

    #[test]
    fn flat_ranges_are_widened() {
        assert_eq!(padded([5.0, 5.0].into_iter(), 0.05), 4.5..5.5);
        assert_eq!(padded(std::iter::empty(), 0.05), 0.0..1.0);
        assert_eq!(padded([0.0, 10.0, f64::NAN].into_iter(), 0.0), 0.0..10.0);
    }
}
