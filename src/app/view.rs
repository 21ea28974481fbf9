//! A table's view: the sorted, filtered order of its rows, the selection
//! and the scroll position. The selection follows its row, not its index,
//! as rows arrive and leave.

#[derive(Clone, Debug)]
pub struct View<K> {
    /// row keys in display order
    pub order: Vec<K>,
    /// index into `order` of the selected row
    pub cursor: usize,
    /// the selected row's key, followed across reorders
    pub selected: Option<K>,
    /// index of the first visible row
    pub offset: usize,
    /// visible rows, from the last layout
    pub height: usize,
}

// not derived: a derive would ask K for Default
impl<K> Default for View<K> {
    fn default() -> Self {
        Self {
            order: Vec::new(),
            cursor: 0,
            selected: None,
            offset: 0,
            height: 0,
        }
    }
}

impl<K: Copy + PartialEq> View<K> {
    pub fn set_order(&mut self, order: Vec<K>) {
        self.order = order;
        self.follow_selection();
    }

    /// Puts the cursor back on the selected row after a reorder; if that
    /// row is gone, keeps the position. A cursor on the first row stays
    /// there, so a table sorted newest-first keeps showing the newest rows.
    pub fn follow_selection(&mut self) {
        if self.cursor == 0 {
            self.offset = 0;
        } else if let Some(key) = self.selected {
            if self.order.get(self.cursor) != Some(&key) {
                if let Some(i) = self.order.iter().position(|&k| k == key) {
                    self.cursor = i;
                }
            }
        }
        self.clamp();
    }

    /// A new order in which the selection follows its key even from the
    /// first row, and keeps its place on screen: lines added above it
    /// scroll the view instead of moving the selection.
    pub fn set_order_keeping(&mut self, order: Vec<K>) {
        self.order = order;
        if let Some(key) = self.selected {
            if let Some(i) = self.order.iter().position(|&k| k == key) {
                let row_on_screen = self.cursor.saturating_sub(self.offset);
                self.cursor = i;
                self.offset = i.saturating_sub(row_on_screen);
            }
        }
        self.clamp();
    }

    fn clamp(&mut self) {
        if self.order.is_empty() {
            self.cursor = 0;
            self.selected = None;
        } else {
            self.cursor = self.cursor.min(self.order.len() - 1);
            self.selected = Some(self.order[self.cursor]);
        }
        self.scroll();
    }

    /// Keeps the cursor on screen.
    pub fn scroll(&mut self) {
        let height = self.height.max(1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + height {
            self.offset = self.cursor + 1 - height;
        }
        let max_offset = self.order.len().saturating_sub(height);
        self.offset = self.offset.min(max_offset);
    }

    pub fn move_by(&mut self, delta: isize) {
        if self.order.is_empty() {
            return;
        }
        let last = self.order.len() as isize - 1;
        self.cursor = (self.cursor as isize + delta).clamp(0, last) as usize;
        self.clamp();
    }

    pub fn page(&mut self, pages: isize) {
        self.move_by(pages * self.height.max(1) as isize);
    }

    pub fn home(&mut self) {
        self.cursor = 0;
        self.clamp();
    }

    pub fn end(&mut self) {
        self.cursor = self.order.len().saturating_sub(1);
        self.clamp();
    }

    pub fn select_index(&mut self, index: usize) {
        if index < self.order.len() {
            self.cursor = index;
            self.clamp();
        }
    }

    /// Scrolls the view without moving past the ends (mouse wheel).
    pub fn scroll_by(&mut self, delta: isize) {
        self.move_by(delta);
    }

    pub fn selected_key(&self) -> Option<K> {
        self.selected
    }

    /// The keys on screen.
    pub fn visible(&self) -> &[K] {
        let start = self.offset.min(self.order.len());
        let end = (start + self.height).min(self.order.len());
        &self.order[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(n: u32, height: usize) -> View<u32> {
        let mut v = View {
            height,
            ..Default::default()
        };
        v.set_order((0..n).collect());
        v
    }

    #[test]
    fn moves_and_scrolls() {
        let mut v = view(100, 10);
        assert_eq!(v.selected_key(), Some(0));
        v.move_by(15);
        assert_eq!((v.cursor, v.offset), (15, 6));
        v.page(1);
        assert_eq!(v.cursor, 25);
        v.end();
        assert_eq!((v.cursor, v.offset), (99, 90));
        v.move_by(5);
        assert_eq!(v.cursor, 99);
        v.home();
        assert_eq!((v.cursor, v.offset), (0, 0));
        assert_eq!(v.visible(), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn selection_follows_its_row() {
        let mut v = view(10, 5);
        // on the first row, the view stays at the top as rows arrive
        v.set_order([100].into_iter().chain(0..10).collect());
        assert_eq!(v.selected_key(), Some(100));
        v.set_order((0..10).collect());
        v.move_by(3);
        assert_eq!(v.selected_key(), Some(3));
        // rows arrive at the top
        v.set_order([100, 101].into_iter().chain(0..10).collect());
        assert_eq!(v.selected_key(), Some(3));
        assert_eq!(v.cursor, 5);
        // the selected row leaves: the position stays
        v.set_order([100, 101, 0, 1, 2, 4, 5].to_vec());
        assert_eq!(v.cursor, 5);
        assert_eq!(v.selected_key(), Some(4));
        v.set_order(Vec::new());
        assert_eq!(v.selected_key(), None);
    }
}
