//! lodash's debounce rules on Tokio instants, shared by every debounce: [`Rules`] are the
//! options, [`Burst`] the state of one burst (one per adapter, or one per key for the keyed
//! debounces). The rules know nothing of the items: they say when the held item (or batch) is
//! emitted, held or discarded, and the adapter keeps the items.
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

/// A debounce's options: lodash's `wait`, `maxWait`, `leading` and `trailing`.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    window: Duration,
    // As set: raised to the window where it is used, so a window that changes per item
    // (`debounce_with`) raises it too.
    max_wait: Option<Duration>,
    leading: bool,
    trailing: bool,
}

impl Rules {
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            // Saturated as every duration input is, so instants and elapsed times compare
            // consistently (30 years is effectively never).
            window: window.min(FAR_FUTURE),
            max_wait: None,
            leading: false,
            trailing: true,
        }
    }

    pub(crate) fn set_window(&mut self, window: Duration) {
        self.window = window.min(FAR_FUTURE);
    }

    pub(crate) fn set_leading(&mut self, on: bool) {
        self.leading = on;
    }

    pub(crate) fn set_trailing(&mut self, on: bool) {
        self.trailing = on;
    }

    pub(crate) fn set_max_wait(&mut self, max_wait: Duration) {
        self.max_wait = Some(max_wait.min(FAR_FUTURE));
    }

    pub(crate) fn window(&self) -> Duration {
        self.window
    }

    /// lodash: `maxWait = max(maxWait, wait)`.
    pub(crate) fn max_wait(&self) -> Option<Duration> {
        self.max_wait.map(|max_wait| max_wait.max(self.window))
    }

    pub(crate) fn leading(&self) -> bool {
        self.leading
    }

    pub(crate) fn trailing(&self) -> bool {
        self.trailing
    }
}

/// The state of one burst under [`Rules`]: lodash's `lastCallTime`, `lastInvokeTime`, timer
/// and whether `lastArgs` is set.
#[derive(Debug, Clone, Default)]
pub(crate) struct Burst {
    last_call: Option<Instant>,
    last_emit: Option<Instant>,
    timer: Option<Instant>,
    holding: bool,
}

impl Burst {
    /// The instant at which `on_timer` has something to decide, if any: the adapter's task
    /// must be woken then.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.timer
    }

    /// Whether an item is held that the trailing edge will emit.
    pub(crate) fn holds_trailing(&self, rules: &Rules) -> bool {
        self.holding && rules.trailing
    }

    /// Whether the burst is over and forgetting it changes nothing: no timer, nothing held,
    /// and a quiet window since the last call, so the next call is a leading edge either way.
    pub(crate) fn settled(&self, rules: &Rules, now: Instant) -> bool {
        self.timer.is_none()
            && !self.holding
            && self
                .last_call
                .is_none_or(|last| now.saturating_duration_since(last) >= rules.window)
    }

    /// The instant after which the burst is worth looking at again: its timer, or, if it has
    /// none, the end of the quiet window that [`settled`](Self::settled) waits for.
    pub(crate) fn next_check_at(&self, rules: &Rules) -> Option<Instant> {
        self.timer.or_else(|| {
            self.last_call
                .map(|last| saturating_after(last, rules.window))
        })
    }

    /// lodash's `shouldInvoke`: the first call ever, a quiet window since the last call, or
    /// `max_wait` since the last emission.
    fn should_emit(&self, rules: &Rules, now: Instant) -> bool {
        let Some(last_call) = self.last_call else {
            return true;
        };
        now.saturating_duration_since(last_call) >= rules.window
            || rules.max_wait().is_some_and(|max_wait| {
                self.last_emit
                    .is_none_or(|last| now.saturating_duration_since(last) >= max_wait)
            })
    }

    /// lodash's `invokeFunc`. With both edges off nothing is ever emitted (the contract), even
    /// where lodash would invoke for `maxWait`.
    fn emit(&mut self, rules: &Rules, now: Instant) -> Action {
        self.last_emit = Some(now);
        self.holding = false;
        if rules.leading || rules.trailing {
            Action::Emit
        } else {
            Action::Discard
        }
    }

    /// The instant the timer waits for after `now`: a window after the last call, or `max_wait`
    /// after the last emission if that is sooner (lodash's `remainingWait`).
    fn next_check(&self, rules: &Rules, now: Instant) -> Instant {
        let quiet = saturating_after(self.last_call.unwrap_or(now), rules.window);
        match (rules.max_wait(), self.last_emit) {
            (Some(max_wait), Some(last)) => quiet.min(saturating_after(last, max_wait)),
            _ => quiet,
        }
    }

    /// An item was taken from the source at `now`; the adapter already holds it (replacing or
    /// joining what it held).
    pub(crate) fn on_item(&mut self, rules: &Rules, now: Instant) -> Action {
        let emitting = self.should_emit(rules, now);
        self.take_item(rules, now, emitting, false)
    }

    /// [`on_item`](Self::on_item) for an item that sets the window (`debounce_with`). The gap
    /// before it is judged by the window of the item before it (each item's window says how
    /// long the burst stays open after it); then its own window is in force.
    pub(crate) fn on_item_with_window(
        &mut self,
        rules: &mut Rules,
        now: Instant,
        window: Duration,
    ) -> Action {
        let emitting = self.should_emit(rules, now);
        rules.set_window(window);
        self.take_item(rules, now, emitting, true)
    }

    /// The rest of `on_item`, once `should_emit` has been judged. `window_changed`: the window
    /// may have shrunk with this item, so the timer may have to come in.
    fn take_item(
        &mut self,
        rules: &Rules,
        now: Instant,
        emitting: bool,
        window_changed: bool,
    ) -> Action {
        self.last_call = Some(now);
        self.holding = true;
        match self.timer {
            None if emitting => {
                // The leading edge: a burst starts; `max_wait` counts from here.
                self.last_emit = Some(now);
                self.timer = Some(saturating_after(now, rules.window));
                if rules.leading {
                    return self.emit(rules, now);
                }
            }
            Some(_) if emitting && rules.max_wait().is_some() => {
                // `max_wait` reached under continuous input: emit, and a new window starts.
                self.timer = Some(saturating_after(now, rules.window));
                return self.emit(rules, now);
            }
            // A call soon after a `max_wait` trailing edge: no leading edge (lodash), and the
            // timer bounded by `max_wait` from that emission (the one change from lodash).
            None => self.timer = Some(self.next_check(rules, now)),
            // The burst goes on. With a fixed window the timer is already at or before this
            // call's check (the checks only move later), and the item costs nothing more; a
            // window that shrank with this item (`debounce_with`) pulls the timer in.
            Some(at) if window_changed => self.timer = Some(at.min(self.next_check(rules, now))),
            Some(_) => {}
        }
        Action::Hold
    }

    /// The held batch is full (`max_items`): it goes out now, an emission like `max_wait`'s,
    /// and the burst goes on.
    pub(crate) fn on_full(&mut self, rules: &Rules, now: Instant) -> Action {
        self.emit(rules, now)
    }

    /// The task was polled at `now` with no more items ready: lodash's `timerExpired` if the
    /// timer's instant has come.
    pub(crate) fn on_timer(&mut self, rules: &Rules, now: Instant) -> Action {
        match self.timer {
            Some(at) if at <= now => {}
            _ => return Action::Hold,
        }
        if !self.should_emit(rules, now) {
            // Items came since the timer was set: wait for the rest of the window.
            self.timer = Some(self.next_check(rules, now));
            return Action::Hold;
        }
        self.trailing_edge(rules, now)
    }

    /// lodash's `flush`: the trailing edge now, if a burst is open.
    pub(crate) fn on_flush(&mut self, rules: &Rules, now: Instant) -> Action {
        if self.timer.is_none() {
            return Action::Hold;
        }
        self.trailing_edge(rules, now)
    }

    /// lodash's `cancel`: the burst is forgotten, and the held item dropped. Returns whether an
    /// item was held.
    pub(crate) fn cancel(&mut self) -> bool {
        std::mem::take(self).holding
    }

    /// lodash's `trailingEdge`: the burst is over.
    fn trailing_edge(&mut self, rules: &Rules, now: Instant) -> Action {
        self.timer = None;
        if self.holding && rules.trailing {
            return self.emit(rules, now);
        }
        self.discard()
    }

    /// The source ended: the held item goes out now if its trailing edge would emit it.
    pub(crate) fn on_end(&mut self, rules: &Rules) -> Action {
        self.timer = None;
        if self.holding && rules.trailing {
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
