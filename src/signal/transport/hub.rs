//! [`EventHub`]: the subscriber list behind every transport's `subscribe`. Re-entrancy safe:
//! `emit` holds no borrow while a handler runs, so a handler may send, subscribe or
//! unsubscribe (itself or others) while being called. A handler unsubscribed during an emit
//! is not called for the rest of that emit; one added during an emit first hears the next
//! event. (`emit` walks the live list by id instead of copying it: no `Vec` clone per event.) [`Subscription`] is the RAII handle: dropping
//! it unsubscribes. Pure Rust (no web-sys), tested natively.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use super::TransportEvent;

/// `Rc<Box<…>>` rather than `Rc<dyn …>`: wrapping the box needs no re-allocation code.
type Handler = Rc<Box<dyn Fn(&TransportEvent)>>;

#[derive(Default)]
struct HubInner {
    next_id: Cell<u64>,
    handlers: RefCell<Vec<(u64, Handler)>>,
}

impl HubInner {
    fn is_live(&self, id: u64) -> bool {
        self.handlers.borrow().iter().any(|(h, _)| *h == id)
    }
}

/// A cheap-to-clone list of event handlers (clones share the list).
#[derive(Clone, Default)]
pub struct EventHub {
    inner: Rc<HubInner>,
}

impl EventHub {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a handler; it stays registered until the returned [`Subscription`] is dropped.
    pub fn subscribe(&self, handler: Box<dyn Fn(&TransportEvent)>) -> Subscription {
        let id = self.inner.next_id.get().wrapping_add(1);
        self.inner.next_id.set(id);
        self.inner
            .handlers
            .borrow_mut()
            .push((id, Rc::new(handler)));
        Subscription {
            hub: Rc::downgrade(&self.inner),
            id,
        }
    }

    /// Calls every handler registered when the emit starts and still registered when its
    /// turn comes. No borrow is held while a handler runs. Ids grow with every subscription
    /// and the list stays in id order, so "the next handler" is the first live one with a
    /// larger id, and handlers added during this emit (ids above `last`) are skipped.
    pub fn emit(&self, event: &TransportEvent) {
        let last = self.inner.next_id.get();
        let mut after = 0;
        loop {
            let next = self
                .inner
                .handlers
                .borrow()
                .iter()
                .find(|(id, _)| *id > after && *id <= last)
                .map(|(id, h)| (*id, h.clone()));
            let Some((id, handler)) = next else {
                return;
            };
            after = id;
            handler(event);
        }
    }

    /// How many handlers are registered (tests use it to prove listeners return to zero).
    pub fn len(&self) -> usize {
        self.inner.handlers.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// RAII registration: dropping it removes the handler. Outliving the hub is harmless.
#[must_use = "dropping a Subscription unsubscribes at once"]
pub struct Subscription {
    hub: Weak<HubInner>,
    id: u64,
}

impl Subscription {
    /// A subscription that is attached to nothing (for transports that are already gone).
    pub fn detached() -> Self {
        Self {
            hub: Weak::new(),
            id: 0,
        }
    }

    /// Whether the handler is still registered with a live hub.
    pub fn is_active(&self) -> bool {
        self.hub.upgrade().is_some_and(|h| h.is_live(self.id))
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(hub) = self.hub.upgrade() {
            // Take the removed handler out of the borrow before it is dropped: dropping it may
            // drop captured state whose own Drop touches this hub again.
            let removed = {
                let mut handlers = hub.handlers.borrow_mut();
                handlers
                    .iter()
                    .position(|(h, _)| *h == self.id)
                    .map(|i| handlers.remove(i))
            };
            drop(removed);
        }
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("active", &self.is_active())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder(
        hub: &EventHub,
        log: &Rc<RefCell<Vec<String>>>,
        name: &'static str,
    ) -> Subscription {
        let log = log.clone();
        hub.subscribe(Box::new(move |e| {
            log.borrow_mut().push(format!("{name}:{e:?}"))
        }))
    }

    #[test]
    fn every_subscriber_hears_each_event_until_its_subscription_is_dropped() {
        let hub = EventHub::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let a = recorder(&hub, &log, "a");
        let b = recorder(&hub, &log, "b");
        hub.emit(&TransportEvent::Connected);
        drop(a);
        hub.emit(&TransportEvent::Disconnected);
        assert_eq!(
            *log.borrow(),
            vec!["a:Connected", "b:Connected", "b:Disconnected"]
        );
        assert!(b.is_active());
        drop(b);
        assert!(hub.is_empty());
    }

    #[test]
    fn a_handler_may_unsubscribe_a_later_one_which_then_is_not_called() {
        let hub = EventHub::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let victim: Rc<RefCell<Option<Subscription>>> = Rc::new(RefCell::new(None));
        let v = victim.clone();
        let _killer = hub.subscribe(Box::new(move |_| {
            v.borrow_mut().take();
        }));
        *victim.borrow_mut() = Some(recorder(&hub, &log, "victim"));
        hub.emit(&TransportEvent::Connected);
        assert!(log.borrow().is_empty());
        assert_eq!(hub.len(), 1);
    }

    #[test]
    fn a_handler_may_subscribe_during_emit_and_hears_only_later_events() {
        let hub = EventHub::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let added: Rc<RefCell<Vec<Subscription>>> = Rc::default();
        let (h, l, a) = (hub.clone(), log.clone(), added.clone());
        let _adder = hub.subscribe(Box::new(move |_| {
            if a.borrow().is_empty() {
                let sub = recorder(&h, &l, "late");
                a.borrow_mut().push(sub);
            }
        }));
        hub.emit(&TransportEvent::Connected);
        assert!(log.borrow().is_empty());
        hub.emit(&TransportEvent::Reconnected);
        assert_eq!(*log.borrow(), vec!["late:Reconnected"]);
    }

    #[test]
    fn a_handler_may_drop_its_own_subscription_while_running() {
        let hub = EventHub::new();
        let calls = Rc::new(Cell::new(0));
        let slot: Rc<RefCell<Option<Subscription>>> = Rc::default();
        let (s, c) = (slot.clone(), calls.clone());
        *slot.borrow_mut() = Some(hub.subscribe(Box::new(move |_| {
            c.set(c.get() + 1);
            s.borrow_mut().take();
        })));
        hub.emit(&TransportEvent::Connected);
        hub.emit(&TransportEvent::Connected);
        assert_eq!(calls.get(), 1);
        assert!(hub.is_empty());
    }

    #[test]
    fn a_handler_may_emit_again_and_every_subscriber_hears_both_events() {
        let hub = EventHub::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let h = hub.clone();
        let _echo = hub.subscribe(Box::new(move |e| {
            if *e == TransportEvent::Disconnected {
                h.emit(&TransportEvent::Reconnected);
            }
        }));
        let _rec = recorder(&hub, &log, "r");
        hub.emit(&TransportEvent::Disconnected);
        assert_eq!(*log.borrow(), vec!["r:Reconnected", "r:Disconnected"]);
    }

    #[test]
    fn subscriptions_outliving_their_hub_drop_quietly() {
        let hub = EventHub::new();
        let sub = hub.subscribe(Box::new(|_| {}));
        drop(hub);
        assert!(!sub.is_active());
        drop(sub);
        assert!(!Subscription::detached().is_active());
    }
}
