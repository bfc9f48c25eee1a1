//! Waiting for several futures at once (a function's independent outbound calls), without an
//! executor dependency: the futures are polled in turn on the caller's task, and the outputs
//! come back in the order given.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

enum Slot<F: Future> {
    Running(Pin<Box<F>>),
    Done(Option<F::Output>),
}

/// The future of [`join_all`].
pub struct JoinAll<F: Future> {
    slots: Vec<Slot<F>>,
}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `JoinAll` holds only boxed futures and outputs: it is Unpin.
        let this = self.get_mut();
        let mut pending = false;
        for slot in &mut this.slots {
            if let Slot::Running(f) = slot {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *slot = Slot::Done(Some(v)),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            return Poll::Pending;
        }
        Poll::Ready(
            this.slots
                .iter_mut()
                .filter_map(|s| match s {
                    Slot::Done(v) => v.take(),
                    Slot::Running(_) => None,
                })
                .collect(),
        )
    }
}

impl<F: Future> Unpin for JoinAll<F> {}

/// All of `futures`, run concurrently; their outputs in order.
pub fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> JoinAll<F> {
    JoinAll {
        slots: futures
            .into_iter()
            .map(|f| Slot::Running(Box::pin(f)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::task::Waker;

    /// Ready after `n` polls, logging the order it finished in.
    struct After<'a> {
        n: u32,
        id: u32,
        finished: &'a Cell<Vec<u32>>,
    }

    impl Future for After<'_> {
        type Output = u32;
        fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<u32> {
            if self.n == 0 {
                let mut f = self.finished.take();
                f.push(self.id);
                self.finished.set(f);
                Poll::Ready(self.id)
            } else {
                self.n -= 1;
                Poll::Pending
            }
        }
    }

    #[test]
    fn runs_together_and_keeps_order() {
        let finished = Cell::new(Vec::new());
        let mut all = join_all([3, 0, 1].into_iter().enumerate().map(|(id, n)| After {
            n,
            id: u32::try_from(id).unwrap_or(0),
            finished: &finished,
        }));
        let mut cx = Context::from_waker(Waker::noop());
        let mut polls = 0;
        let out = loop {
            polls += 1;
            if let Poll::Ready(v) = Pin::new(&mut all).poll(&mut cx) {
                break v;
            }
        };
        assert_eq!(out, vec![0, 1, 2]);
        assert_eq!(finished.take(), vec![1, 2, 0], "each finished when ready");
        assert_eq!(polls, 4, "concurrently: as many polls as the slowest needs");
        let none: Vec<After<'_>> = Vec::new();
        assert!(matches!(
            Pin::new(&mut join_all(none)).poll(&mut cx),
            Poll::Ready(v) if v.is_empty()
        ));
    }
}
