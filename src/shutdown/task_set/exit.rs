//! How the tasks of a [`TaskSet`] ended: [`TaskExit`] for one task, [`StopReport`] for a
//! [`TaskSet::stop_all`].

use std::time::Duration;

#[cfg(doc)]
use super::TaskSet;

/// How a task of a [`TaskSet`] ended.
///
/// ```
/// use std::time::Duration;
/// use deadlines::{TaskExit, TaskSet};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let set: TaskSet<&str, Result<u8, String>> = TaskSet::new();
/// set.spawn("ok", |_| async { Ok(7) });
/// set.spawn("err", |_| async { Err("disk full".to_string()) });
/// set.spawn("panics", |_| async { panic!("boom") });
/// set.spawn("deaf", |_| std::future::pending());
///
/// let grace = Duration::from_millis(100);
/// assert_eq!(set.stop_and_wait("deaf", grace).await, Some(TaskExit::Aborted));
/// let mut exits = Vec::new();
/// while let Some(exit) = set.join_next().await {
///     exits.push(exit);
/// }
/// exits.sort_by_key(|(key, _)| *key);
/// assert_eq!(
///     exits,
///     [
///         ("err", TaskExit::Finished(Err("disk full".to_string()))),
///         ("ok", TaskExit::Finished(Ok(7))),
///         ("panics", TaskExit::Panicked("boom".to_string())),
///     ]
/// );
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskExit<T> {
    /// The task ran to completion and returned this output (which may be an `Err`).
    Finished(T),
    /// The task panicked; this is the panic message (`"Box<dyn Any>"` when the payload was
    /// neither a `&str` nor a `String`), taken from the task's `JoinError`. The panic is not
    /// propagated.
    Panicked(String),
    /// The task was aborted: it outlived its grace period, or the set was dropped, before it
    /// ended. Its future was dropped.
    Aborted,
}

/// What [`TaskSet::stop_all`] returns: how each task it stopped ended, and how long that took.
///
/// ```
/// use std::time::Duration;
/// use deadlines::{StopReport, TaskExit, TaskSet};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let set = TaskSet::new();
/// set.spawn("polite", |token| async move { token.cancelled().await });
/// set.spawn("deaf", |_| std::future::pending());
///
/// let report: StopReport<&str, ()> = set.stop_all(Duration::from_millis(250)).await;
/// assert_eq!(report.exits, [("polite", TaskExit::Finished(())), ("deaf", TaskExit::Aborted)]);
/// assert_eq!(report.aborted(), [&"deaf"]);
/// assert_eq!(report.elapsed, Duration::from_millis(250));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StopReport<K, T> {
    /// Each stopped task's key and exit, in the order the tasks were spawned.
    pub exits: Vec<(K, TaskExit<T>)>,
    /// From the call of `stop_all` to the last exit: the grace period at most, unless an
    /// aborted task took time to be dropped.
    pub elapsed: Duration,
}
impl<T> TaskExit<T> {
    /// The output, if the task finished.
    ///
    /// ```
    /// use deadlines::TaskExit;
    ///
    /// assert_eq!(TaskExit::Finished(3).into_output(), Some(3));
    /// assert_eq!(TaskExit::<u8>::Aborted.into_output(), None);
    /// ```
    pub fn into_output(self) -> Option<T> {
        match self {
            Self::Finished(output) => Some(output),
            Self::Panicked(_) | Self::Aborted => None,
        }
    }

    /// Whether the task ran to completion (its output may still be an `Err`).
    ///
    /// ```
    /// use deadlines::TaskExit;
    ///
    /// assert!(TaskExit::Finished(Err::<(), _>("bad input")).is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        matches!(self, Self::Finished(_))
    }

    /// Whether the task panicked.
    ///
    /// ```
    /// use deadlines::TaskExit;
    ///
    /// assert!(TaskExit::<()>::Panicked("boom".into()).is_panicked());
    /// ```
    pub fn is_panicked(&self) -> bool {
        matches!(self, Self::Panicked(_))
    }

    /// Whether the task was aborted.
    ///
    /// ```
    /// use deadlines::TaskExit;
    ///
    /// assert!(TaskExit::<()>::Aborted.is_aborted());
    /// ```
    pub fn is_aborted(&self) -> bool {
        matches!(self, Self::Aborted)
    }
}

impl<K, T> StopReport<K, T> {
    /// The keys of the tasks that finished, in spawn order.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::TaskSet;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let set = TaskSet::new();
    /// set.spawn("a", |token| token.cancelled_owned());
    /// let report = set.stop_all(Duration::from_secs(1)).await;
    /// assert_eq!(report.finished(), [&"a"]);
    /// # }
    /// ```
    pub fn finished(&self) -> Vec<&K> {
        self.keys_where(TaskExit::is_finished)
    }

    /// The keys of the tasks that panicked, in spawn order.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::TaskSet;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let set = TaskSet::new();
    /// set.spawn("a", |token| async move {
    ///     token.cancelled().await;
    ///     panic!("cannot stop cleanly");
    /// });
    /// let report = set.stop_all(Duration::from_secs(1)).await;
    /// assert_eq!(report.panicked(), [&"a"]);
    /// # }
    /// ```
    pub fn panicked(&self) -> Vec<&K> {
        self.keys_where(TaskExit::is_panicked)
    }

    /// The keys of the tasks that were aborted, in spawn order.
    ///
    /// ```
    /// use std::time::Duration;
    /// use deadlines::TaskSet;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let set = TaskSet::new();
    /// set.spawn("a", |_| std::future::pending::<()>());
    /// let report = set.stop_all(Duration::ZERO).await;
    /// assert_eq!(report.aborted(), [&"a"]);
    /// # }
    /// ```
    pub fn aborted(&self) -> Vec<&K> {
        self.keys_where(TaskExit::is_aborted)
    }

    fn keys_where(&self, pick: impl Fn(&TaskExit<T>) -> bool) -> Vec<&K> {
        self.exits
            .iter()
            .filter(|(_, exit)| pick(exit))
            .map(|(key, _)| key)
            .collect()
    }
}
