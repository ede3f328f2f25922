//! Exchange and queue names, and their idempotent declaration. Declared at
//! every (re)connect, so a broker that lost them gets them back.

use super::{broker, table, text};
use crate::bus::{BusError, EventQueue};
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, ExchangeKind};

/// Exchange and queue names, with the configured prefix.
#[derive(Debug, Clone)]
pub struct Names {
    pub raw: String,
    pub tickets: String,
    pub dlx: String,
    pub intake: String,
    prefix: String,
}

impl Names {
    pub fn new(prefix: &str) -> Self {
        Names {
            raw: format!("{prefix}minqing.raw"),
            tickets: format!("{prefix}minqing.tickets"),
            dlx: format!("{prefix}minqing.dlx"),
            intake: format!("{prefix}raw.intake"),
            prefix: prefix.to_owned(),
        }
    }

    pub fn queue(&self, q: EventQueue) -> String {
        format!("{}{}", self.prefix, q.name())
    }

    pub fn parked(queue: &str) -> String {
        format!("{queue}.parked")
    }

    /// Every consumed queue, raw first.
    pub fn all_queues(&self) -> Vec<String> {
        let mut v = vec![self.intake.clone()];
        v.extend(EventQueue::ALL.iter().map(|q| self.queue(*q)));
        v
    }
}

impl EventQueue {
    /// The routing key under which this queue's copy of `e` is published:
    /// `analysis.<event>.<channel>` for the masked copies, the event's own
    /// `ticket.<event>.<channel>` otherwise.
    pub fn routing_key(self, e: &crate::ticket::TicketEvent) -> String {
        let key = e.routing_key();
        if self.for_analysis() {
            key.replacen(super::TICKET_PREFIX, super::ANALYSIS_PREFIX, 1)
        } else {
            key
        }
    }

    /// Its binding on the ticket-event exchange.
    pub fn binding(self) -> &'static str {
        match self {
            EventQueue::Workflow => "ticket.#",
            // Masked copies only (`super::ANALYSIS_PREFIX`).
            EventQueue::Warehouse => "analysis.#",
            // Only what triage sends to Huangshi 12345.
            EventQueue::Forward => "ticket.forwarded.#",
        }
    }
}

/// Declares exchanges, queues, bindings and parking queues; idempotent.
pub(super) async fn declare(ch: &Channel, n: &Names, delivery_limit: u32) -> Result<(), BusError> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    for (name, kind) in [
        (&n.raw, ExchangeKind::Fanout),
        (&n.tickets, ExchangeKind::Topic),
        (&n.dlx, ExchangeKind::Direct),
    ] {
        ch.exchange_declare(name.as_str().into(), kind, durable, FieldTable::default())
            .await
            .map_err(broker)?;
    }
    let qopts = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    let quorum = text("quorum");
    let mut queues: Vec<(String, &str, &str, bool)> = vec![(n.intake.clone(), n.raw.as_str(), "", true)];
    for q in EventQueue::ALL {
        queues.push((n.queue(q), n.tickets.as_str(), q.binding(), false));
    }
    for (queue, exchange, key, single) in &queues {
        let parked = Names::parked(queue);
        ch.queue_declare(parked.as_str().into(), qopts, table(&[("x-queue-type", quorum.clone())]))
            .await
            .map_err(broker)?;
        ch.queue_bind(
            parked.as_str().into(),
            n.dlx.as_str().into(),
            queue.as_str().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(broker)?;
        let mut args = vec![
            ("x-queue-type", quorum.clone()),
            ("x-dead-letter-exchange", text(&n.dlx)),
            ("x-dead-letter-routing-key", text(queue)),
            ("x-delivery-limit", AMQPValue::LongInt(delivery_limit as i32)),
        ];
        if *single {
            args.push(("x-single-active-consumer", AMQPValue::Boolean(true)));
        }
        ch.queue_declare(queue.as_str().into(), qopts, table(&args))
            .await
            .map_err(|source| BusError::Amqp {
                context: format!("declaring queue {queue}: "),
                source,
                hint: "; if it exists with other arguments, delete it or use another bus.rabbitmq.prefix",
            })?;
        ch.queue_bind(
            queue.as_str().into(),
            (*exchange).into(),
            (*key).into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(broker)?;
    }
    // Brokers declared before the warehouse got masked copies bound its
    // queue to `ticket.#`, which carries contacts; unbinding a binding that
    // is not there is a no-op.
    ch.queue_unbind(
        n.queue(EventQueue::Warehouse).as_str().into(),
        n.tickets.as_str().into(),
        "ticket.#".into(),
        FieldTable::default(),
    )
    .await
    .map_err(broker)?;
    Ok(())
}
