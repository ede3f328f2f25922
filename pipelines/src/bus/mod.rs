//! The [`Bus`] seam between stages, with the topology of DESIGN.md §3:
//! raw appeals go to one queue with a single active consumer (intake);
//! ticket events fan out to one queue per sink.
//!
//! Delivery is at-least-once. A consumer acks a [`Delivery`] only after its
//! effect is committed; a nack sends it back to the publisher (memory bus) or
//! to the dead-letter queue (broker), with the reason.

pub mod memory;
pub mod rabbit;

use crate::ticket::TicketEvent;
use async_trait::async_trait;
use minqing_connectors::Inbound;
use serde::{Deserialize, Serialize};

/// The sink queues bound to the ticket-event exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventQueue {
    Workflow,
    Warehouse,
    Forward,
}

impl EventQueue {
    pub const ALL: [EventQueue; 3] = [EventQueue::Workflow, EventQueue::Warehouse, EventQueue::Forward];

    pub fn name(self) -> &'static str {
        match self {
            EventQueue::Workflow => "tickets.workflow",
            EventQueue::Warehouse => "tickets.warehouse",
            EventQueue::Forward => "tickets.forward",
        }
    }

    /// Whether this queue feeds analysis and so gets events with personal
    /// data masked ([`crate::privacy::Masker::event_for_analysis`]).
    pub fn for_analysis(self) -> bool {
        self == EventQueue::Warehouse
    }

    /// Whether an event reaches this queue: the in-process twin of its
    /// binding on the broker (`binding()` in `rabbit::topology`), so both
    /// buses deliver the same events to each sink.
    pub fn wants(self, e: &TicketEvent) -> bool {
        match self {
            EventQueue::Workflow | EventQueue::Warehouse => true,
            EventQueue::Forward => e.event_type == crate::ticket::EventType::Forwarded,
        }
    }
}

/// Why a bus call failed; [`BusError::is_retryable`] says whether the
/// same call may succeed later.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("the bus is shut down")]
    Closed,
    /// A consumer (on the in-process bus) could not take the message.
    #[error("a consumer refused the message: {reason}")]
    Refused { reason: String },
    #[error("queue {0} already has its single consumer")]
    Busy(&'static str),
    #[error("queue {0} is not bound on this bus")]
    NotBound(&'static str),
    /// RabbitMQ refused or went away while we were doing `context`.
    #[error("broker error: {context}{source}{hint}")]
    Amqp {
        context: String,
        #[source]
        source: lapin::Error,
        hint: &'static str,
    },
    /// Publishing gave up after `bus.rabbitmq.publish_timeout_secs`.
    #[error("broker error: publishing to {exchange}: {source}; is RabbitMQ up?")]
    Publish {
        exchange: String,
        #[source]
        source: rabbit::PublishError,
    },
    #[error("broker error: {what} took over {after:?}")]
    TimedOut { what: String, after: std::time::Duration },
    #[error("broker error: the delivery's channel is gone; the message will be delivered again")]
    ChannelGone,
    #[error("broker error: not connected to RabbitMQ; reconnecting")]
    Disconnected,
    #[error("encoding a message: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("a consumer of {queue} ended")]
    ConsumerEnded { queue: String },
    #[error("a task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl BusError {
    /// Whether the same call may succeed later: the broker went away, did
    /// not answer in time, or a consumer could not take the message now.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            BusError::Refused { .. }
                | BusError::Amqp { .. }
                | BusError::Publish { .. }
                | BusError::TimedOut { .. }
                | BusError::ChannelGone
                | BusError::Disconnected
        )
    }

    /// A RabbitMQ error while doing `context`.
    pub(crate) fn amqp(context: impl Into<String>, source: lapin::Error) -> BusError {
        let context = context.into();
        BusError::Amqp {
            context: if context.is_empty() { context } else { format!("{context}: ") },
            source,
            hint: "",
        }
    }
}

/// Settles a delivery. Called exactly once, by [`Delivery::ack`] or [`Delivery::nack`].
#[async_trait]
pub trait Acker: Send {
    async fn ack(self: Box<Self>) -> Result<(), BusError>;
    async fn nack(self: Box<Self>, reason: String) -> Result<(), BusError>;
    /// Moves `body` (items that cannot be processed) to the queue's parking
    /// queue with the reason, then settles the delivery as done. Buses
    /// without parking hand the delivery back instead.
    async fn park(self: Box<Self>, _body: Vec<u8>, reason: String) -> Result<(), BusError> {
        self.nack(reason).await
    }
}

/// Messages handed to a consumer together, settled together.
pub struct Delivery<T> {
    pub items: Vec<T>,
    /// How many of the source's messages this delivery settles; counted
    /// against [`Consumer::window`].
    pub messages: usize,
    acker: Box<dyn Acker>,
}

impl<T> Delivery<T> {
    pub fn new(items: Vec<T>, acker: Box<dyn Acker>) -> Self {
        Delivery { items, messages: 1, acker }
    }

    /// A delivery that settles `messages` messages of its source.
    pub fn of_messages(items: Vec<T>, messages: usize, acker: Box<dyn Acker>) -> Self {
        Delivery { items, messages, acker }
    }

    /// Call only once the effect of every item is committed.
    pub async fn ack(self) -> Result<(), BusError> {
        self.acker.ack().await
    }

    pub async fn nack(self, reason: String) -> Result<(), BusError> {
        self.acker.nack(reason).await
    }

    /// Parks `poison` (some of this delivery's items) with the reason and
    /// settles the whole delivery; the caller has committed the rest.
    pub async fn park(self, poison: &[T], reason: String) -> Result<(), BusError>
    where
        T: Serialize,
    {
        let body = serde_json::to_vec(poison)?;
        self.acker.park(body, reason).await
    }
}

#[async_trait]
pub trait Consumer<T>: Send {
    /// The next delivery; `None` once the bus is closed.
    async fn next(&mut self) -> Option<Delivery<T>>;

    /// The most messages the source hands out before some are settled (the
    /// broker's prefetch), if it has such a limit. A consumer holding that
    /// many gets nothing more until it settles, so waiting to gather more
    /// is pointless.
    fn window(&self) -> Option<usize> {
        None
    }
}

#[async_trait]
pub trait Bus: Send + Sync {
    /// Publishes raw appeals to `minqing.raw`. Resolves once they are durable:
    /// on the memory bus, once intake has committed their effect.
    async fn publish_raw(&self, items: Vec<Inbound>) -> Result<(), BusError>;
    /// Publishes intake's ticket events to `minqing.tickets`: to the
    /// workflow and forward queues, and on a broker also masked copies to
    /// the warehouse's (on the memory bus those leave through the workflow
    /// store's outbox instead; see [`Bus::warehouse_from_outbox`]).
    async fn publish_events(&self, events: Vec<TicketEvent>) -> Result<(), BusError>;
    /// Publishes masked copies of events the workflow store has committed
    /// (the warehouse outbox's) to the warehouse's queue only.
    async fn publish_analysis(&self, events: Vec<TicketEvent>) -> Result<(), BusError>;
    /// Whether the warehouse gets intake's events through the workflow
    /// store's outbox. On the memory bus it must: nothing in the process
    /// survives a crash, so the warehouse may only ever see what the store
    /// has committed. A broker holds published events durably itself.
    fn warehouse_from_outbox(&self) -> bool;
    async fn consume_raw(&self) -> Result<Box<dyn Consumer<Inbound>>, BusError>;
    async fn consume_events(&self, queue: EventQueue) -> Result<Box<dyn Consumer<TicketEvent>>, BusError>;
    /// Whether the bus is connected, for `/readyz`.
    async fn ping(&self) -> Result<(), BusError> {
        Ok(())
    }
    /// `memory` or `rabbitmq`.
    fn kind(&self) -> &'static str;
}
