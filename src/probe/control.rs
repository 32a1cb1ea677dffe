//! What a running probe shares with its caller: a cancellation flag and a progress observer.
use super::schema::Phase;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Set from another thread (Ctrl-C) to stop the run between repetitions; completed work is kept.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks the run to stop at the next repetition boundary.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Receives progress; the CLI draws bars from it, tests ignore it. The library never prints.
pub trait Observer: Sync {
    /// A phase starts; `steps` is how many [`Observer::step`] calls to expect (an estimate).
    fn phase_started(&self, _name: &str, _steps: u64) {}
    /// One repetition or sub-measurement finished.
    fn step(&self) {}
    /// A phase finished (or was skipped) and has been saved.
    fn phase_finished(&self, _phase: &Phase) {}
    /// Something the user should know now (a skipped GPU, a temperature stop).
    fn note(&self, _text: &str) {}
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {}
