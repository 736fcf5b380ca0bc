//! The live camera: which view of the layout is on air (the tick's director chooses it by
//! audio level) and the clerk's or judge's lock on a view.
//!
//! Locks: `locked` and `on_air`, each held only to read or write a view name.

use std::sync::Mutex;

use crate::render::layout::WIDE_VIEW;

/// The camera's view lock and the view on air.
#[derive(Debug)]
pub struct Camera {
    locked: Mutex<Option<String>>,
    on_air: Mutex<String>,
}

impl Default for Camera {
    /// Locked on `wide`, which is on air.
    fn default() -> Self {
        Self {
            locked: Mutex::new(Some(WIDE_VIEW.to_string())),
            on_air: Mutex::new(WIDE_VIEW.to_string()),
        }
    }
}

impl Camera {
    /// Locks the camera on `view`, or with `None` hands it to the director. The caller has
    /// checked that the layout has the view.
    pub fn lock(&self, view: Option<String>) {
        *self.locked.lock().expect("view lock") = view;
    }

    /// The locked view, if any.
    pub fn locked(&self) -> Option<String> {
        self.locked.lock().expect("view lock").clone()
    }

    /// The view on air.
    pub fn on_air(&self) -> String {
        self.on_air.lock().expect("on air lock").clone()
    }

    /// The tick cut to `view`.
    pub fn cut_to(&self, view: &str) {
        *self.on_air.lock().expect("on air lock") = view.to_owned();
    }
}
