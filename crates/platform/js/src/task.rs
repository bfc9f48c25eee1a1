//! A minimal executor for request futures, driven by the JS shim, and the bridge from JS
//! promises to Rust futures ([`HostFuture`]).
//!
//! [`run`] polls a future once; if it is done the value is returned at once (no promise, no
//! microtask). Otherwise the future is parked under a task id, which is returned (a number).
//! Its waker calls the shim's `wake(id)` (registered with [`set_host`]); the shim then calls
//! [`poll`] and settles the request's promise with the value.
//!
//! A promise Rust awaits is handed to the shim's `track(promise, ticket)`, which calls
//! [`settle`] with the outcome. No Rust closure is ever invoked from a promise reaction: every
//! entry into Wasm is a call the shim makes inside its `try`, so a trap is always seen there,
//! and after the shim re-creates a trapped instance, the old instance's promises settle into
//! nothing (the shim drops them) instead of calling into a module that is gone.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use wasm_bindgen::prelude::*;

type Task = Pin<Box<dyn Future<Output = JsValue>>>;

enum Slot {
    Free,
    /// Being polled right now (taken out of the table).
    Running,
    Parked(Task),
}

/// The shim's scheduler and promise tracker.
struct Host {
    wake: js_sys::Function,
    track: js_sys::Function,
}

/// A promise Rust waits for.
enum Awaited {
    Waiting(Option<Waker>),
    Settled(Result<JsValue, JsValue>),
}

thread_local! {
    /// Tasks by id.
    static TASKS: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
    static HOST: RefCell<Option<Host>> = const { RefCell::new(None) };
    /// Promises in flight by ticket (few at a time: a linear table).
    static AWAITED: RefCell<Vec<(u32, Awaited)>> = const { RefCell::new(Vec::new()) };
    static NEXT_TICKET: Cell<u32> = const { Cell::new(1) };
}

/// Sets the shim's `wake(id)` (schedules a [`poll`]) and `track(promise, ticket)` (calls
/// [`settle`] when the promise settles), once per instance.
pub fn set_host(wake: js_sys::Function, track: js_sys::Function) {
    HOST.with(|h| *h.borrow_mut() = Some(Host { wake, track }));
}

struct TaskWaker(u32);

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        HOST.with(|h| {
            if let Some(host) = h.borrow().as_ref() {
                // The shim's scheduler does not throw; if it did, the task would stay parked
                // (the request unanswered) rather than anything breaking here.
                let _ = host.wake.call1(&JsValue::UNDEFINED, &JsValue::from(self.0));
            }
        });
    }
}

fn set(index: usize, slot: Slot) {
    TASKS.with(|t| {
        if let Some(s) = t.borrow_mut().get_mut(index) {
            *s = slot;
        }
    });
}

thread_local! {
    /// One waker per task slot, made once: slots are reused, so a request allocates none.
    static WAKERS: RefCell<Vec<Waker>> = const { RefCell::new(Vec::new()) };
}

fn waker(id: u32) -> Waker {
    WAKERS.with(|w| {
        let mut wakers = w.borrow_mut();
        while wakers.len() <= id as usize {
            let next = u32::try_from(wakers.len()).unwrap_or(u32::MAX);
            wakers.push(Waker::from(Arc::new(TaskWaker(next))));
        }
        wakers
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| Waker::from(Arc::new(TaskWaker(id))))
    })
}

/// Polls `task` as task `id` and files it: parked when pending, freed when done.
fn step(id: u32, mut task: Task) -> Option<JsValue> {
    let waker = waker(id);
    match task.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(value) => {
            set(id as usize, Slot::Free);
            Some(value)
        }
        Poll::Pending => {
            set(id as usize, Slot::Parked(task));
            None
        }
    }
}

/// Runs `future`: its value if it completes on the first poll, else its task id as a number.
pub(crate) fn run(future: impl Future<Output = JsValue> + 'static) -> JsValue {
    let id = TASKS.with(|t| {
        let mut tasks = t.borrow_mut();
        let i = match tasks.iter().position(|s| matches!(s, Slot::Free)) {
            Some(i) => i,
            None => {
                tasks.push(Slot::Free);
                tasks.len() - 1
            }
        };
        if let Some(s) = tasks.get_mut(i) {
            *s = Slot::Running;
        }
        i
    });
    let Ok(id32) = u32::try_from(id) else {
        return JsValue::NULL;
    };
    step(id32, Box::pin(future)).unwrap_or_else(|| JsValue::from(id32))
}

/// Polls task `id` (the shim calls this when the task's waker fired): its value once done,
/// else `undefined`. Unknown, running or finished ids answer `undefined` (a late, spurious
/// wake).
#[must_use]
pub fn poll(id: u32) -> JsValue {
    let task = TASKS.with(|t| {
        let mut tasks = t.borrow_mut();
        match tasks.get_mut(id as usize) {
            Some(slot @ Slot::Parked(_)) => match std::mem::replace(slot, Slot::Running) {
                Slot::Parked(task) => Some(task),
                _ => None,
            },
            _ => None,
        }
    });
    task.and_then(|task| step(id, task))
        .unwrap_or(JsValue::UNDEFINED)
}

/// The outcome of promise `ticket` (the shim's `track` calls this once). Unknown tickets (a
/// future that was dropped) are ignored.
pub fn settle(ticket: u32, ok: bool, value: JsValue) {
    let waker = AWAITED.with(|a| {
        let mut awaited = a.borrow_mut();
        let (_, state) = awaited.iter_mut().find(|(t, _)| *t == ticket)?;
        let result = if ok { Ok(value) } else { Err(value) };
        match std::mem::replace(state, Awaited::Settled(result)) {
            Awaited::Waiting(waker) => waker,
            Awaited::Settled(_) => None,
        }
    });
    if let Some(w) = waker {
        w.wake();
    }
}

/// A JS promise as a future: `Ok` with its value or `Err` with its rejection.
pub struct HostFuture {
    ticket: u32,
}

impl HostFuture {
    /// Starts waiting for `promise` (any value: a non-promise settles at once).
    #[must_use]
    pub fn new(promise: &JsValue) -> Self {
        let ticket = NEXT_TICKET.with(|n| {
            let t = n.get();
            n.set(t.checked_add(1).unwrap_or(1));
            t
        });
        AWAITED.with(|a| a.borrow_mut().push((ticket, Awaited::Waiting(None))));
        let tracked = HOST.with(|h| {
            h.borrow().as_ref().map(|host| {
                host.track
                    .call2(&JsValue::UNDEFINED, promise, &JsValue::from(ticket))
            })
        });
        match tracked {
            Some(Ok(_)) => {}
            Some(Err(e)) => settle(ticket, false, e),
            None => settle(
                ticket,
                false,
                JsValue::from_str("the shim did not register its promise tracker"),
            ),
        }
        Self { ticket }
    }
}

impl Future for HostFuture {
    type Output = Result<JsValue, JsValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let ticket = self.ticket;
        AWAITED.with(|a| {
            let mut awaited = a.borrow_mut();
            let Some(i) = awaited.iter().position(|(t, _)| *t == ticket) else {
                return Poll::Ready(Err(JsValue::from_str("promise already taken")));
            };
            match awaited.get_mut(i) {
                Some((_, Awaited::Waiting(waker))) => {
                    *waker = Some(cx.waker().clone());
                    Poll::Pending
                }
                Some((_, Awaited::Settled(_))) => match awaited.swap_remove(i) {
                    (_, Awaited::Settled(result)) => Poll::Ready(result),
                    (_, Awaited::Waiting(_)) => Poll::Pending,
                },
                None => Poll::Pending,
            }
        })
    }
}

impl Drop for HostFuture {
    fn drop(&mut self) {
        let ticket = self.ticket;
        AWAITED.with(|a| a.borrow_mut().retain(|(t, _)| *t != ticket));
    }
}
