//! lodash's debounce rules on Tokio instants, shared by `Debounce` and `DebounceBatch`. The
//! rules know nothing of the items: they say when the held item (or batch) is emitted, held or
//! discarded, and [`Settle`](super::settle::Settle) keeps the items.
//!
//! The names follow lodash 4.17.21's `debounce`: a *call* is an item taken from the source,
//! an *invoke* an emission, `last_emit` is lodash's `lastInvokeTime`, `timer` the instant its
//! `setTimeout` would run `timerExpired`. One change, for `max_wait`: a call that starts the
//! timer without invoking (after a trailing edge, within `max_wait` of it) sets it to the
//! earlier of a window from the call and `max_wait` from the last emission, where lodash sets
//! it a full window out. lodash can thus hold an item up to a window past `max_wait`; the
//! contract measures `max_wait` from the previous emission, and this keeps that promise.

use std::time::Duration;

use tokio::time::Instant;

use crate::clock::{FAR_FUTURE, saturating_after};

/// What to do with the held item (or batch) after a call or a timer check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Keep holding it (or nothing is held).
    Hold,
    /// Emit it now.
    Emit,
    /// Drop it: its edge is switched off.
    Discard,
}

#[derive(Clone)]
pub(crate) struct Burst {
    window: Duration,
    max_wait: Option<Duration>,
    leading: bool,
    trailing: bool,
    last_call: Option<Instant>,
    last_emit: Option<Instant>,
    timer: Option<Instant>,
    holding: bool,
}

impl Burst {
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            // Saturated as every duration input is, so instants and elapsed times compare
            // consistently (30 years is effectively never).
            window: window.min(FAR_FUTURE),
            max_wait: None,
            leading: false,
            trailing: true,
            last_call: None,
            last_emit: None,
            timer: None,
            holding: false,
        }
    }

    pub(crate) fn set_leading(&mut self, on: bool) {
        self.leading = on;
    }

    pub(crate) fn set_trailing(&mut self, on: bool) {
        self.trailing = on;
    }

    /// lodash: `maxWait = max(maxWait, wait)`.
    pub(crate) fn set_max_wait(&mut self, max_wait: Duration) {
        self.max_wait = Some(max_wait.min(FAR_FUTURE).max(self.window));
    }

    pub(crate) fn window(&self) -> Duration {
        self.window
    }

    pub(crate) fn max_wait(&self) -> Option<Duration> {
        self.max_wait
    }

    pub(crate) fn leading(&self) -> bool {
        self.leading
    }

    pub(crate) fn trailing(&self) -> bool {
        self.trailing
    }

    /// The instant at which `on_timer` has something to decide, if any: the adapter's task
    /// must be woken then.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.timer
    }

    /// Whether an item is held that the trailing edge will emit.
    pub(crate) fn holds_trailing(&self) -> bool {
        self.holding && self.trailing
    }

    /// lodash's `shouldInvoke`: the first call ever, a quiet window since the last call, or
    /// `max_wait` since the last emission.
    fn should_emit(&self, now: Instant) -> bool {
        let Some(last_call) = self.last_call else {
            return true;
        };
        now.saturating_duration_since(last_call) >= self.window
            || self.max_wait.is_some_and(|max_wait| {
                self.last_emit
                    .is_none_or(|last| now.saturating_duration_since(last) >= max_wait)
            })
    }

    /// lodash's `invokeFunc`. With both edges off nothing is ever emitted (the contract), even
    /// where lodash would invoke for `maxWait`.
    fn emit(&mut self, now: Instant) -> Action {
        self.last_emit = Some(now);
        self.holding = false;
        if self.leading || self.trailing {
            Action::Emit
        } else {
            Action::Discard
        }
    }

    /// The instant the timer waits for after `now`: a window after the last call, or `max_wait`
    /// after the last emission if that is sooner (lodash's `remainingWait`).
    fn next_check(&self, now: Instant) -> Instant {
        let quiet = saturating_after(self.last_call.unwrap_or(now), self.window);
        match (self.max_wait, self.last_emit) {
            (Some(max_wait), Some(last)) => quiet.min(saturating_after(last, max_wait)),
            _ => quiet,
        }
    }

    /// An item was taken from the source at `now`; the adapter already holds it (replacing or
    /// joining what it held).
    pub(crate) fn on_item(&mut self, now: Instant) -> Action {
        let emitting = self.should_emit(now);
        self.last_call = Some(now);
        self.holding = true;
        if emitting {
            if self.timer.is_none() {
                // The leading edge: a burst starts; `max_wait` counts from here.
                self.last_emit = Some(now);
                self.timer = Some(saturating_after(now, self.window));
                return if self.leading {
                    self.emit(now)
                } else {
                    Action::Hold
                };
            }
            if self.max_wait.is_some() {
                // `max_wait` reached under continuous input: emit, and a new window starts.
                self.timer = Some(saturating_after(now, self.window));
                return self.emit(now);
            }
        }
        if self.timer.is_none() {
            // A call soon after a `max_wait` trailing edge: no leading edge (lodash), and the
            // timer bounded by `max_wait` from that emission (the one change from lodash).
            self.timer = Some(self.next_check(now));
        }
        Action::Hold
    }

    /// The task was polled at `now` with no more items ready: lodash's `timerExpired` if the
    /// timer's instant has come.
    pub(crate) fn on_timer(&mut self, now: Instant) -> Action {
        match self.timer {
            Some(at) if at <= now => {}
            _ => return Action::Hold,
        }
        if !self.should_emit(now) {
            // Items came since the timer was set: wait for the rest of the window.
            self.timer = Some(self.next_check(now));
            return Action::Hold;
        }
        // The trailing edge: the burst is over.
        self.timer = None;
        if self.holding && self.trailing {
            return self.emit(now);
        }
        self.discard()
    }

    /// The source ended: the held item goes out now if its trailing edge would emit it.
    pub(crate) fn on_end(&mut self) -> Action {
        self.timer = None;
        if self.holding && self.trailing {
            self.holding = false;
            return Action::Emit;
        }
        self.discard()
    }

    fn discard(&mut self) -> Action {
        if std::mem::take(&mut self.holding) {
            Action::Discard
        } else {
            Action::Hold
        }
    }
}
