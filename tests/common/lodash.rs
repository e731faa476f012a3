//! A plain transcription of lodash 4.17.21's `debounce` (times in microseconds since the
//! start), the reference model of every lodash-based property: `debounce`, `debounce_batch`,
//! `debounce_with` and, one model per key, the keyed debounces.
//!
//! It departs from lodash where the contract does, each place marked `CONTRACT`, and has three
//! additions lodash has no counterpart for, each marked `EXTENSION`: `max_items` for batches,
//! a window per call (`debounce_with`) and the end of the source. `flush` and `cancel` are
//! lodash's, except that `flush` returns the held item (lodash returns the last result).

/// A debounce's options, as the tests draw them.
#[derive(Debug, Clone)]
pub struct Options {
    pub window: u64,
    pub max_wait: Option<u64>,
    pub leading: bool,
    pub trailing: bool,
    /// Batches only: a batch this long is emitted at once (`Some(0)` counts as 1).
    pub max_items: Option<usize>,
}

/// lodash's `debounce` state, in its own names. `args` is `lastArgs`: the held item (or, for
/// batches, the held items).
#[derive(Debug, Clone)]
pub struct Lodash {
    /// `wait`: the window of the latest call (`debounce_with`), else the one window.
    wait: u64,
    /// `maxWait` as set; lodash raises it to `wait`, which [`max_wait`](Self::max_wait) does
    /// where it is used, so that a window that changes per call raises it too.
    max_wait_option: Option<u64>,
    leading: bool,
    trailing: bool,
    batch: bool,
    max_items: Option<usize>,
    /// A window per call: a call pulls a pending timer in to its own window's end.
    per_call: bool,
    last_call_time: Option<u64>,
    last_invoke_time: u64,
    timer: Option<u64>,
    args: Vec<u32>,
}

impl Lodash {
    /// `debounce(window, options)`: of one item at a time, or collecting a batch (`batch`: a
    /// batch has no trailing switch, its trailing edge is always on).
    pub fn new(options: &Options, batch: bool) -> Self {
        Self {
            wait: options.window,
            max_wait_option: options.max_wait,
            leading: options.leading,
            trailing: options.trailing || batch,
            batch,
            max_items: if batch {
                options.max_items.map(|n| n.max(1))
            } else {
                None
            },
            per_call: false,
            last_call_time: None,
            last_invoke_time: 0,
            timer: None,
            args: Vec::new(),
        }
    }

    /// EXTENSION (`debounce_with`): each call brings its own window; see [`call_with_window`].
    ///
    /// [`call_with_window`]: Self::call_with_window
    pub fn with_window_per_call(mut self) -> Self {
        self.per_call = true;
        self
    }

    /// `maxWait = max(maxWait, wait)`, with the window of the latest call.
    fn max_wait(&self) -> Option<u64> {
        self.max_wait_option.map(|max_wait| max_wait.max(self.wait))
    }

    /// The instant the pending `setTimeout(timerExpired, ..)` runs at.
    pub fn timer(&self) -> Option<u64> {
        self.timer
    }

    /// Whether `lastArgs` is set: an item (or batch) is held.
    pub fn holding(&self) -> bool {
        !self.args.is_empty()
    }

    /// What the adapter's `Burst::settled` calls a settled burst: no timer, nothing held, and
    /// a quiet window since the last call, so that the next call is a leading edge as it is
    /// for a debounce never called: forgetting this state changes nothing.
    pub fn settled(&self, time: u64) -> bool {
        self.timer.is_none()
            && self.args.is_empty()
            && self
                .last_call_time
                .is_none_or(|last| time - last >= self.wait)
    }

    fn should_invoke(&self, time: u64) -> bool {
        let Some(last_call) = self.last_call_time else {
            return true;
        };
        time - last_call >= self.wait
            || self
                .max_wait()
                .is_some_and(|max_wait| time - self.last_invoke_time >= max_wait)
    }

    /// `invokeFunc`: what is emitted (CONTRACT: nothing when both edges are off).
    fn invoke(&mut self, time: u64) -> Option<Vec<u32>> {
        self.last_invoke_time = time;
        let args = std::mem::take(&mut self.args);
        (self.leading || self.trailing).then_some(args)
    }

    fn leading_edge(&mut self, time: u64) -> Option<Vec<u32>> {
        self.last_invoke_time = time;
        self.timer = Some(time + self.wait);
        if self.leading {
            self.invoke(time)
        } else {
            None
        }
    }

    fn remaining_wait(&self, time: u64) -> u64 {
        let time_waiting = self.wait - (time - self.last_call_time.unwrap());
        match self.max_wait() {
            // Saturating: a window that shrank with this call (`debounce_with`) lowers
            // `maxWait`, maybe below the time since the last invoke; lodash's `setTimeout`
            // of a negative delay runs at once, as a timer at `time` does here.
            Some(max_wait) => {
                time_waiting.min(max_wait.saturating_sub(time - self.last_invoke_time))
            }
            None => time_waiting,
        }
    }

    fn trailing_edge(&mut self, time: u64) -> Option<Vec<u32>> {
        self.timer = None;
        if self.trailing && !self.args.is_empty() {
            return self.invoke(time);
        }
        self.args.clear();
        None
    }

    /// `timerExpired` at `time` (the timer's instant, or a later poll).
    pub fn timer_expired(&mut self, time: u64) -> Option<Vec<u32>> {
        if self.should_invoke(time) {
            return self.trailing_edge(time);
        }
        self.timer = Some(time + self.remaining_wait(time));
        None
    }

    /// `debounced(item)` at `time`.
    pub fn call(&mut self, time: u64, item: u32) -> Option<Vec<u32>> {
        let is_invoking = self.should_invoke(time);
        self.called(time, item, is_invoking)
    }

    /// The rest of `debounced`, once `shouldInvoke` was judged.
    fn called(&mut self, time: u64, item: u32, is_invoking: bool) -> Option<Vec<u32>> {
        if !self.batch {
            self.args.clear();
        }
        self.args.push(item);
        self.last_call_time = Some(time);
        if is_invoking {
            if self.timer.is_none() {
                return self.leading_edge(time).or_else(|| self.full(time));
            }
            if self.max_wait().is_some() {
                self.timer = Some(time + self.wait);
                return self.invoke(time);
            }
        }
        match self.timer {
            // lodash: `setTimeout(timerExpired, wait)`. CONTRACT: `max_wait` counts from the
            // previous emission, so the timer waits no longer than that allows.
            None => self.timer = Some(time + self.remaining_wait(time)),
            // EXTENSION (`debounce_with`): a call whose window ends before the pending timer
            // pulls it in (with one window for every call, it never does).
            Some(at) if self.per_call => {
                self.timer = Some(at.min(time + self.remaining_wait(time)));
            }
            Some(_) => {}
        }
        self.full(time)
    }

    /// EXTENSION (`debounce_with`): `debounced(item)` at `time`, the call bringing the window
    /// that is in force from it on. The gap before the call is judged by the window of the
    /// call before it (a call's window says how long the burst stays open after it:
    /// docs/semantics.md); then its own window is in force.
    pub fn call_with_window(&mut self, time: u64, item: u32, window: u64) -> Option<Vec<u32>> {
        assert!(
            self.per_call,
            "a window per call needs with_window_per_call"
        );
        let is_invoking = self.should_invoke(time);
        self.wait = window;
        self.called(time, item, is_invoking)
    }

    /// EXTENSION (`max_items`): a held batch that is full is emitted at once, an invoke as
    /// `maxWait`'s is; the timer is left as it is, and the burst goes on.
    fn full(&mut self, time: u64) -> Option<Vec<u32>> {
        if self
            .max_items
            .is_some_and(|max_items| self.args.len() >= max_items)
        {
            return self.invoke(time);
        }
        None
    }

    /// lodash's `flush` at `time`: the trailing edge now if a timer is pending. It returns what
    /// the trailing edge emits (lodash returns the last result, and `None` stands for it).
    pub fn flush(&mut self, time: u64) -> Option<Vec<u32>> {
        // `timerId === undefined ? result : trailingEdge(now())`
        self.timer?;
        self.trailing_edge(time)
    }

    /// lodash's `cancel`; returns whether an item was held (lodash returns nothing).
    pub fn cancel(&mut self) -> bool {
        let held = !self.args.is_empty();
        self.last_invoke_time = 0;
        self.args.clear();
        self.last_call_time = None;
        self.timer = None;
        held
    }

    /// EXTENSION (the source ended): the held item goes out at once if the trailing edge
    /// would emit it, and no timer is left.
    pub fn end(&mut self) -> Option<Vec<u32>> {
        self.timer = None;
        let held = std::mem::take(&mut self.args);
        (self.trailing && !held.is_empty()).then_some(held)
    }
}

/// Whether Tokio's timer wheel has reached a timer at `at` (us): the instant rounded up to a
/// whole millisecond, against the last millisecond the paused clock reached at `now`.
pub fn timer_due(at: u64, now: u64) -> bool {
    at.div_ceil(1_000) <= now / 1_000
}
