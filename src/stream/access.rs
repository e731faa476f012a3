//! The accessors to the source that every adapter offers, written once, as futures-util's
//! `delegate_access_inner!` writes them for its combinators.

/// Expands, inside an adapter's inherent `impl`, to `get_ref`, `get_mut`, `get_pin_mut` and
/// `into_inner` for the source held at the field path `$field` (pin-projected at each step),
/// of type `$source`.
///
/// Each method gets its docs and a doctest on the adapter that `$build` (a method chain,
/// as text) makes of `futures_util::stream::iter(0..3)`; `$get_mut` and `$into_inner` say
/// what taking items directly, and giving up the adapter's state, mean for this adapter.
macro_rules! delegate_access_inner {
    (
        $($field:ident).+: $source:ty,
        build: $build:literal,
        get_mut: $get_mut:literal,
        $(into_inner: $into_inner:literal,)?
    ) => {
        /// The source stream.
        ///
        /// ```
        /// use std::time::Duration;
        /// use deadlines::stream::StreamDeadlineExt;
        ///
        #[doc = concat!("let adapter = futures_util::stream::iter(0..3)", $build, ";")]
        /// assert_eq!(futures_core::Stream::size_hint(adapter.get_ref()), (3, Some(3)));
        /// ```
        pub fn get_ref(&self) -> &$source {
            &self $(.$field)+
        }

        #[doc = concat!("The source stream, mutably. ", $get_mut)]
        ///
        /// ```
        /// use std::time::Duration;
        /// use deadlines::stream::StreamDeadlineExt;
        /// use futures_util::StreamExt;
        ///
        /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
        /// # async fn main() {
        #[doc = concat!("let mut adapter = futures_util::stream::iter(0..3)", $build, ";")]
        /// assert_eq!(adapter.get_mut().next().await, Some(0));
        /// # }
        /// ```
        pub fn get_mut(&mut self) -> &mut $source {
            &mut self $(.$field)+
        }

        /// The source stream, pinned.
        ///
        /// ```
        /// use std::time::Duration;
        /// use deadlines::stream::StreamDeadlineExt;
        ///
        #[doc = concat!("let adapter = futures_util::stream::iter(0..3)", $build, ";")]
        /// let mut adapter = std::pin::pin!(adapter);
        /// let source = adapter.as_mut().get_pin_mut();
        /// assert_eq!(futures_core::Stream::size_hint(&*source), (3, Some(3)));
        /// ```
        pub fn get_pin_mut(self: ::std::pin::Pin<&mut Self>) -> ::std::pin::Pin<&mut $source> {
            self $(.project().$field)+
        }

        #[doc = concat!("The source stream.", $(" ", $into_inner)?)]
        ///
        /// ```
        /// use std::time::Duration;
        /// use deadlines::stream::StreamDeadlineExt;
        ///
        #[doc = concat!("let adapter = futures_util::stream::iter(0..3)", $build, ";")]
        /// let source = adapter.into_inner();
        /// assert_eq!(futures_core::Stream::size_hint(&source), (3, Some(3)));
        /// ```
        pub fn into_inner(self) -> $source {
            self $(.$field)+
        }
    };
}

pub(super) use delegate_access_inner;
