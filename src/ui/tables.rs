//! The one table drawer: every view (Live, Finished, Commands, Tree) is a column
//! set with a `ViewRows` implementation that formats the cells of its
//! visible rows (and only those); this file lays out the columns, draws
//! titles with the sort arrow, rows, selection and the empty-state line.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table as TableWidget};
use ratatui::Frame;

use super::widths::{fit, Need, Shown, SPACING};
use crate::app::{
    App, Column, CommandColumn, FinishedColumn, LiveColumn, Sort, Table, TableArea, TreeColumn,
    ViewId, HIGHLIGHT,
};
use crate::event::WallTime;

/// One cell of a visible row.
pub struct CellText {
    pub text: String,
    /// the form drawn when the column yields (END without its date)
    pub short: Option<String>,
    pub style: Style,
}

impl CellText {
    pub fn plain(text: String) -> Self {
        Self {
            text,
            short: None,
            style: Style::new(),
        }
    }

    pub fn styled(text: String, style: Style) -> Self {
        Self {
            style,
            ..Self::plain(text)
        }
    }
}

/// A visible row: its cells in the column enum's order, and its style.
pub type RowText = (Vec<CellText>, Style);

fn width(text: &str) -> u16 {
    u16::try_from(Span::raw(text).width()).unwrap_or(u16::MAX)
}

fn block(focused: bool) -> Block<'static> {
    let border = if focused {
        Style::new().cyan()
    } else {
        Style::new().dark_gray()
    };
    Block::bordered().border_style(border)
}

/// Where each column goes, from what the visible rows need.
fn layout<C: Column>(area: Rect, rows: &[RowText]) -> (TableArea, Vec<Shown>) {
    let needs: Vec<Need> = C::ALL
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let cells = rows.iter().filter_map(|(cells, _)| cells.get(i));
            let full = cells.clone().map(|t| width(&t.text)).max().unwrap_or(0);
            let short = cells
                .map(|t| width(t.short.as_deref().unwrap_or(&t.text)))
                .max()
                .unwrap_or(0);
            Need {
                width: c.width(),
                min: c.min_width(),
                full,
                short,
            }
        })
        .collect();
    let inner = block(false).inner(area);
    let shown = fit(&needs, inner.width);
    let end = inner.x + inner.width;
    let mut x = inner.x;
    let mut columns = Vec::with_capacity(shown.len());
    for s in &shown {
        let w = s.width().min(end.saturating_sub(x));
        columns.push((x, w));
        if *s != Shown::Hidden {
            x = (x + w + SPACING).min(end);
        }
    }
    let area = TableArea {
        header: Rect {
            height: inner.height.min(1),
            ..inner
        },
        body: Rect {
            y: inner.y + inner.height.min(1),
            height: inner.height.saturating_sub(1),
            ..inner
        },
        columns,
    };
    (area, shown)
}

pub fn selected_style(focused: bool) -> Style {
    if focused {
        Style::new().black().bg(Color::Cyan)
    } else {
        Style::new().bg(Color::DarkGray)
    }
}

/// What one table shows.
struct Contents<C> {
    title: Line<'static>,
    /// the selection's place, on the right of the top border
    position: Option<String>,
    focused: bool,
    sort: Sort<C>,
    rows: Vec<RowText>,
    empty: String,
}

/// What a view gives the drawer: its table, title, empty-state line and
/// the cells of one row.
pub trait ViewRows: Column {
    const ID: ViewId;
    /// what the position shows while the cursor is on the first row
    const AT_TOP: Option<&'static str> = None;
    fn table(app: &App) -> &Table<Self>;
    fn heading(app: &App) -> Line<'static>;
    fn empty(app: &App) -> String;
    /// The row's cells in column order and its style when not selected;
    /// `selected` rows are drawn in the selection's colours alone.
    fn row(app: &App, key: Self::Key, selected: bool) -> Option<(Vec<CellText>, Style)>;
}

fn rows<V: ViewRows>(app: &App) -> Vec<RowText> {
    let table = V::table(app);
    let focused = app.view == V::ID && !app.detail_focus;
    let selected = table.view.selected_key();
    table
        .view
        .visible()
        .iter()
        .filter_map(|&key| {
            let is_selected = Some(key) == selected;
            let (cells, style) = V::row(app, key, is_selected)?;
            let style = if is_selected {
                selected_style(focused)
            } else {
                style
            };
            Some((cells, style))
        })
        .collect()
}

/// Where a view's columns go, for mouse clicks.
fn area_of<V: ViewRows>(area: Rect, app: &App) -> TableArea {
    layout::<V>(area, &rows::<V>(app)).0
}

fn render_view<V: ViewRows>(frame: &mut Frame, area: Rect, app: &App) {
    let table = V::table(app);
    let contents = Contents {
        title: V::heading(app),
        position: position(table, V::AT_TOP),
        focused: app.view == V::ID && !app.detail_focus,
        sort: table.sort,
        rows: rows::<V>(app),
        empty: V::empty(app),
    };
    draw_table(frame, area, contents);
}

/// Where a view's table goes in `area`.
pub fn table_area(id: ViewId, area: Rect, app: &App) -> TableArea {
    match id {
        ViewId::Live => area_of::<LiveColumn>(area, app),
        ViewId::Finished => area_of::<FinishedColumn>(area, app),
        ViewId::Commands => area_of::<CommandColumn>(area, app),
        ViewId::Tree => area_of::<TreeColumn>(area, app),
    }
}

pub fn render(id: ViewId, frame: &mut Frame, area: Rect, app: &App) {
    match id {
        ViewId::Live => render_view::<LiveColumn>(frame, area, app),
        ViewId::Finished => render_view::<FinishedColumn>(frame, area, app),
        ViewId::Commands => render_view::<CommandColumn>(frame, area, app),
        ViewId::Tree => render_view::<TreeColumn>(frame, area, app),
    }
}

/// The one table drawer: titles with the sort arrow, the columns that fit,
/// the visible rows, and an empty-state line.
fn draw_table<C: Column>(frame: &mut Frame, area: Rect, c: Contents<C>) {
    let (t, shown) = layout::<C>(area, &c.rows);
    let mut block = block(c.focused).title(c.title);
    if let Some(position) = c.position {
        block = block.title_top(Line::from(position).dark_gray().right_aligned());
    }
    let head = Row::new(
        C::ALL
            .iter()
            .zip(&shown)
            .filter(|(_, s)| **s != Shown::Hidden)
            .map(|(&col, _)| {
                if col == c.sort.column {
                    let arrow = if c.sort.descending { "▼" } else { "▲" };
                    Cell::from(format!("{}{arrow}", col.title())).bold().cyan()
                } else {
                    Cell::from(col.title()).bold()
                }
            }),
    );
    let no_rows = c.rows.is_empty();
    let rows: Vec<Row> = c
        .rows
        .into_iter()
        .map(|(cells, style)| {
            let cells = cells.into_iter().zip(&shown).filter_map(|(cell, s)| {
                let text = match (s, cell.short) {
                    (Shown::Hidden, _) => return None,
                    (Shown::Short(_), Some(short)) => short,
                    _ => cell.text,
                };
                Some(Cell::from(text).style(cell.style))
            });
            Row::new(cells).style(style)
        })
        .collect();
    let widths: Vec<Constraint> = shown
        .iter()
        .filter(|s| **s != Shown::Hidden)
        .map(|s| Constraint::Length(s.width()))
        .collect();
    let table = TableWidget::new(rows, widths)
        .header(head)
        .column_spacing(SPACING)
        .block(block);
    frame.render_widget(table, area);
    if no_rows && t.body.height > 0 {
        frame.render_widget(
            Paragraph::new(Line::from(c.empty).dark_gray()).centered(),
            t.body,
        );
    }
}

/// `row 12/3400` when the selection is below the top; at the top, what
/// the view does as rows arrive.
fn position<C: Column>(table: &Table<C>, at_top: Option<&str>) -> Option<String> {
    let view = &table.view;
    if view.order.is_empty() {
        None
    } else if view.cursor > 0 {
        Some(format!(" row {}/{} ", view.cursor + 1, view.order.len()))
    } else {
        at_top.map(|s| format!(" {s} "))
    }
}

/// Marked as new or just finished.
pub fn is_recent(app: &App, since: WallTime) -> bool {
    since.0 > 0 && app.now.0.saturating_sub(since.0) < HIGHLIGHT.as_nanos() as u64
}
