//! Unit tests of the tree view: nesting by birth parent, groups of
//! sibling runs and their totals, keys and clicks, the selection as events
//! arrive, search, and the guards against cycles and depth.

use ratatui::crossterm::event::KeyModifiers;
use ratatui::crossterm::event::{KeyCode, MouseButton, MouseEvent, MouseEventKind};

use super::fixtures::*;
use super::tests::{chars, events, key};
use super::*;
use crate::event::{ExitInfo, ProcessInfo, Usage};

fn tree_viewport(height: u16) -> Viewport {
    let columns = TreeColumn::ALL.len() as u16;
    Viewport {
        tables: vec![(
            ViewId::Tree,
            TableArea {
                header: Rect::new(0, 0, 200, 1),
                body: Rect::new(0, 1, 200, height),
                // the command column last, from x = 100
                columns: (0..columns).map(|i| (i * 10 + 30, 9)).chain([]).collect(),
            },
        )],
        ..Default::default()
    }
    .with_command_at(100)
}

impl Viewport {
    fn with_command_at(mut self, x: u16) -> Self {
        let (_, area) = &mut self.tables[0];
        if let Some(last) = area.columns.last_mut() {
            *last = (x, 100);
        }
        self
    }
}

fn child(pid: u32, ppid: u32, comm: &str, start_s: u64) -> ProcessInfo {
    ProcessInfo {
        ppid,
        ..process(pid, comm, start_s)
    }
}

fn ended(p: ProcessInfo, ms: u64, status: u32, cpu_ms: u64) -> ExitInfo {
    let mut e = exit(p, ms, status);
    e.usage = Some(Usage {
        cpu_user_ns: cpu_ms * 1_000_000,
        ..Default::default()
    });
    e
}

fn press(app: &mut App, code: KeyCode) {
    app.handle_key(key(code));
    app.prepare(&tree_viewport(30));
}

/// An App in the tree view, prepared.
fn tree_app(setup: impl FnOnce(&mut App)) -> App {
    let mut app = App::new(config());
    app.tick(WallTime(T0 + 100 * SEC));
    setup(&mut app);
    app.handle_key(key(KeyCode::Char('t')));
    assert_eq!(app.view, ViewId::Tree);
    app.prepare(&tree_viewport(30));
    app
}

/// The tree as text: glyphs and a process's comm (pid), or a group's
/// label.
fn outline(app: &App) -> Vec<String> {
    let tree = &app.tables.tree;
    tree.lines
        .iter()
        .map(|l| {
            let what = match l.entry {
                Entry::Node(i) => {
                    let n = &tree.forest.nodes[i as usize];
                    let comm = match n.proc {
                        Proc::Live(pid) => app.live_row(pid).map(|r| r.info.comm.clone()),
                        Proc::Finished(seq) => {
                            app.finished_row(seq).map(|r| r.exit.process.comm.clone())
                        }
                    };
                    format!("{} ({})", comm.unwrap_or_default(), n.pid)
                }
                Entry::Group(g) => {
                    let group = &tree.forest.groups[g as usize];
                    format!("{} ×{}", group.name, group.members.len())
                }
            };
            format!("{}{what}", l.prefix())
        })
        .collect()
}

fn selected_line(app: &App) -> String {
    let i = app.tables.tree.table.view.cursor;
    outline(app)[i]
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .to_string()
}

fn line_totals(app: &App, label: &str) -> Totals {
    let tree = &app.tables.tree;
    let at = outline(app)
        .iter()
        .position(|l| l.ends_with(label))
        .unwrap_or_else(|| panic!("no line {label}:\n{}", outline(app).join("\n")));
    tree.forest.totals(tree.lines[at].entry)
}

/// A shell (live) ran make (finished), which ran cc1 twice; a daemon make
/// started outlived make and now has init as its parent.
fn family(app: &mut App) {
    app.apply(Message::Snapshot(vec![process(10, "bash", 1)]));
    let make = child(20, 10, "make", 2);
    let (cc_a, cc_b) = (child(30, 20, "cc1", 3), child(31, 20, "cc1", 4));
    let daemon = child(40, 20, "daemon", 5);
    app.apply(events(vec![
        TraceEvent::Exec(make.clone()),
        TraceEvent::Exec(cc_a.clone()),
        TraceEvent::Exec(cc_b.clone()),
        TraceEvent::Exec(daemon.clone()),
    ]));
    app.apply(events(vec![
        TraceEvent::Exit(ended(cc_a, 100, 0, 40)),
        TraceEvent::Exit(ended(cc_b, 100, 1 << 8, 60)),
        TraceEvent::Exit(ended(make, 5_000, 0, 5)),
    ]));
    // the kernel's next snapshot: the daemon was reparented to init
    app.apply(Message::Snapshot(vec![
        process(10, "bash", 1),
        child(40, 1, "daemon", 5),
    ]));
}

#[test]
fn processes_nest_under_the_parent_they_were_born_to() {
    let app = tree_app(family);
    assert_eq!(
        outline(&app),
        [
            "▾ bash (10)",
            "└─▾ make (20)",
            "  ├── cc1 (30)",
            "  ├── cc1 (31)",
            "  └── daemon (40)",
        ]
    );
    // its row still tells its current parent
    assert_eq!(app.live_row(40).map(|r| r.info.ppid), Some(1));
    let make = line_totals(&app, "make (20)");
    assert_eq!((make.procs, make.failed, make.running), (4, 1, 1));
    assert_eq!(make.cpu_ns, 105_000_000);
    let bash = line_totals(&app, "bash (10)");
    assert_eq!((bash.procs, bash.failed), (5, 1));
}

#[test]
fn a_sort_orders_siblings_and_keeps_the_tree() {
    let mut app = tree_app(family);
    // START, PID, PROCS, FAILED, CPU: the most CPU first among siblings
    for _ in 0..4 {
        press(&mut app, KeyCode::Char('>'));
    }
    assert_eq!(app.tables.tree.table.sort.column, TreeColumn::Cpu);
    assert_eq!(
        outline(&app),
        [
            "▾ bash (10)",
            "└─▾ make (20)",
            "  ├── cc1 (31)",
            "  ├── cc1 (30)",
            "  └── daemon (40)",
        ]
    );
    press(&mut app, KeyCode::Char('r'));
    assert_eq!(outline(&app)[2], "  ├── daemon (40)");
}

#[test]
fn enter_on_a_process_line_opens_its_detail() {
    let mut app = tree_app(family);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    assert!(app.detail);
    match app.selected() {
        Some(Selected::Finished(r)) => assert_eq!(r.exit.process.pid, 20),
        _ => panic!("make is not selected"),
    }
}

/// make ran `true` five times (two failed) and `sh` twice.
fn loop_app() -> App {
    tree_app(|app| {
        app.apply(Message::Snapshot(vec![process(10, "make", 1)]));
        let mut list = Vec::new();
        for i in 0..5 {
            let status = if i < 2 { 1 << 8 } else { 0 };
            list.push(TraceEvent::Exit(ended(
                child(100 + i, 10, "true", 2 + u64::from(i)),
                10,
                status,
                100,
            )));
        }
        for i in 0..2 {
            list.push(TraceEvent::Exit(ended(
                child(200 + i, 10, "sh", 8 + u64::from(i)),
                10,
                0,
                7,
            )));
        }
        // a child of one of the trues counts in the group's totals
        list.push(TraceEvent::Exit(ended(child(300, 102, "env", 4), 1, 0, 3)));
        app.apply(events(list));
    })
}

#[test]
fn repeated_siblings_are_one_group_line_with_the_totals_of_all() {
    let app = loop_app();
    assert_eq!(
        outline(&app),
        ["▾ make (10)", "├─▸ true ×5", "├── sh (200)", "└── sh (201)",]
    );
    let group = line_totals(&app, "true ×5");
    assert_eq!((group.procs, group.failed), (6, 2));
    assert_eq!(group.cpu_ns, 503_000_000);
    let make = line_totals(&app, "make (10)");
    assert_eq!(make.procs, 9);
    assert_eq!(make.cpu_ns, 517_000_000);
}

#[test]
fn arrows_open_close_and_step_through_the_tree() {
    let mut app = loop_app();
    press(&mut app, KeyCode::Down);
    assert_eq!(selected_line(&app), "true ×5");
    press(&mut app, KeyCode::Right);
    let lines = outline(&app);
    assert_eq!(lines[1], "├─▾ true ×5");
    assert_eq!(lines[2], "│ ├── true (100)");
    assert_eq!(lines[4], "│ ├─▾ true (102)");
    assert_eq!(lines[5], "│ │ └── env (300)");
    // → on an open line steps into it; ← on a leaf steps out to its parent
    press(&mut app, KeyCode::Char('l'));
    assert_eq!(selected_line(&app), "true (100)");
    press(&mut app, KeyCode::Char('h'));
    assert_eq!(selected_line(&app), "true ×5");
    press(&mut app, KeyCode::Left);
    assert_eq!(outline(&app).len(), 4);
    // the root closes too
    press(&mut app, KeyCode::Home);
    press(&mut app, KeyCode::Left);
    assert_eq!(outline(&app), ["▸ make (10)"]);
    // t goes back to where it came from
    press(&mut app, KeyCode::Char('t'));
    assert_eq!(app.view, ViewId::Finished);
}

#[test]
fn a_click_selects_a_line_and_a_click_on_its_glyph_toggles_it() {
    let mut app = loop_app();
    let vp = tree_viewport(30);
    let click = |app: &mut App, column: u16, row: u16| {
        app.handle_mouse(
            MouseEvent {
                kind: MouseEventKind::Down(MouseButton::Left),
                column,
                row,
                modifiers: KeyModifiers::NONE,
            },
            &vp,
        );
        app.prepare(&vp);
    };
    // the group's line (the body's second row), on its name: selected only
    click(&mut app, 110, 2);
    assert_eq!(selected_line(&app), "true ×5");
    assert_eq!(outline(&app).len(), 4);
    // on its expander (cells 2 and 3 of the command column at depth 1)
    click(&mut app, 103, 2);
    assert_eq!(outline(&app).len(), 10);
    click(&mut app, 102, 2);
    assert_eq!(outline(&app).len(), 4);
}

#[test]
fn the_selection_stays_on_its_line_as_lines_arrive_above_it() {
    let mut app = loop_app();
    press(&mut app, KeyCode::End);
    assert_eq!(selected_line(&app), "sh (201)");
    let (cursor, offset) = {
        let v = &app.tables.tree.table.view;
        (v.cursor, v.offset)
    };
    // a new process before it: a root that started earlier, and runs of
    // the group
    app.apply(events(vec![
        TraceEvent::Exec(child(5, 1, "init-job", 0)),
        TraceEvent::Exec(child(150, 10, "true", 3)),
    ]));
    app.prepare(&tree_viewport(30));
    assert_eq!(selected_line(&app), "sh (201)");
    let v = &app.tables.tree.table.view;
    assert_eq!(v.cursor, cursor + 1);
    // a tall view has room: the view does not scroll
    assert_eq!(v.offset, offset);
    assert!(outline(&app).contains(&"├─▸ true ×6".to_string()));
    // the group stays closed: it is known by its parent and name
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Right);
    assert_eq!(selected_line(&app), "true ×6");
    assert_eq!(outline(&app).len(), 12);
    app.apply(events(vec![TraceEvent::Exec(child(151, 10, "true", 20))]));
    app.prepare(&tree_viewport(30));
    assert_eq!(outline(&app).len(), 13, "{:#?}", outline(&app));
    assert_eq!(selected_line(&app), "true ×7");
}

#[test]
fn a_selected_process_that_joins_a_group_leaves_the_selection_on_the_group() {
    let mut app = tree_app(|app| {
        app.apply(Message::Snapshot(vec![process(10, "make", 1)]));
        app.apply(events(vec![
            TraceEvent::Exec(child(20, 10, "cc1", 2)),
            TraceEvent::Exec(child(21, 10, "cc1", 3)),
            TraceEvent::Exec(child(22, 10, "ld", 4)),
        ]));
    });
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    assert_eq!(selected_line(&app), "cc1 (21)");
    // a third cc1: the three are one closed line, and the selection is on it
    app.apply(events(vec![TraceEvent::Exec(child(23, 10, "cc1", 5))]));
    app.prepare(&tree_viewport(30));
    assert_eq!(outline(&app), ["▾ make (10)", "├─▸ cc1 ×3", "└── ld (22)"]);
    assert_eq!(selected_line(&app), "cc1 ×3");
}

#[test]
fn the_forest_is_built_only_when_the_store_changed() {
    let mut app = loop_app();
    let builds = app.tables.tree.builds;
    for _ in 0..5 {
        app.prepare(&tree_viewport(30));
    }
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Right);
    assert_eq!(app.tables.tree.builds, builds);
    app.apply(events(vec![TraceEvent::Exec(child(400, 10, "ls", 30))]));
    app.prepare(&tree_viewport(30));
    assert_eq!(app.tables.tree.builds, builds + 1);
}

#[test]
fn a_big_forest_is_built_at_most_once_a_second() {
    let mut app = tree_app(|app| {
        let many = (0..BIG_FOREST as u32)
            .map(|i| child(100 + i, 1, "worker", 1))
            .collect();
        app.apply(Message::Snapshot(many));
    });
    let builds = app.tables.tree.builds;
    app.apply(events(vec![TraceEvent::Exec(child(99, 1, "late", 2))]));
    app.prepare(&tree_viewport(30));
    assert_eq!(app.tables.tree.builds, builds);
    app.tick(WallTime(T0 + 101 * SEC));
    app.prepare(&tree_viewport(30));
    assert_eq!(app.tables.tree.builds, builds + 1);
    assert!(outline(&app).iter().any(|l| l.contains("late (99)")));
}

#[test]
fn a_search_shows_the_matches_with_their_ancestors() {
    let mut app = tree_app(family);
    app.handle_key(key(KeyCode::Char('/')));
    chars(&mut app, "cc1");
    app.handle_key(key(KeyCode::Enter));
    app.prepare(&tree_viewport(30));
    assert_eq!(
        outline(&app),
        [
            "▾ bash (10)",
            "└─▾ make (20)",
            "  ├── cc1 (30)",
            "  └── cc1 (31)"
        ]
    );
    // a match inside a group opens it
    let mut app = loop_app();
    app.handle_key(key(KeyCode::Char('/')));
    chars(&mut app, "env");
    app.handle_key(key(KeyCode::Enter));
    app.prepare(&tree_viewport(30));
    assert_eq!(
        outline(&app),
        [
            "▾ make (10)",
            "└─▾ true ×5",
            "  └─▾ true (102)",
            "    └── env (300)"
        ]
    );
}

#[test]
fn parent_loops_are_cut_and_deep_chains_stop_at_the_cap() {
    // pid reuse with equal start times: each is the other's birth parent
    let app = tree_app(|app| {
        app.apply(events(vec![
            TraceEvent::Exec(child(5, 6, "a", 1)),
            TraceEvent::Exec(child(6, 5, "b", 1)),
        ]));
    });
    assert_eq!(app.tables.tree.forest.cycles_cut, 1);
    assert_eq!(outline(&app).len(), 2);
    // a chain of 100 generations lists 65 lines (depths 0 to 64)
    let app = tree_app(|app| {
        let chain = (0..100u32)
            .map(|i| TraceEvent::Exec(child(1000 + i, 999 + i, "deep", 1 + u64::from(i))))
            .collect();
        app.apply(events(chain));
    });
    let lines = outline(&app);
    assert_eq!(lines.len(), usize::from(MAX_DEPTH) + 1);
    assert!(lines[64].contains("… deep"), "{}", lines[64]);
    assert_eq!(line_totals(&app, "deep (1000)").procs, 100);
}

#[test]
fn pid_reuse_does_not_adopt_a_child_into_an_earlier_process() {
    // pid 20 ended at 2.1 s; a new process started at 5 s was born to a
    // later pid 20 that is not known: it is a root, not make's child
    let app = tree_app(|app| {
        let make = child(20, 1, "make", 2);
        app.apply(events(vec![
            TraceEvent::Exec(make.clone()),
            TraceEvent::Exit(ended(make, 100, 0, 1)),
            TraceEvent::Exec(child(30, 20, "stray", 5)),
        ]));
    });
    assert_eq!(outline(&app), ["  make (20)", "  stray (30)"]);
}

#[test]
fn a_traced_tree_opens_on_the_tree_and_t_goes_to_finished() {
    let mut app = App::new(config());
    app.open_tree();
    assert_eq!(app.view, ViewId::Tree);
    // opening again does not toggle it shut
    app.open_tree();
    assert_eq!(app.view, ViewId::Tree);
    press(&mut app, KeyCode::Char('t'));
    assert_eq!(app.view, ViewId::Finished);
}
