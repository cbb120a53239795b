//! Delivery state in DynamoDB (see [`super`] for what it tracks).
//!
//! One item per key `pk`, each expiring through the table's TTL attribute `expires_at`:
//! - `delivery#<Pulumi-Webhook-ID>`: `state` = `claimed` while one invocation delivers it (with
//!   `lease_until` and the holder's `token`), then `posted` (with `channel`, `ts`). A failed attempt
//!   deletes its claim, so Pulumi's redelivery is tried afresh; the claim of an invocation that died
//!   mid-delivery (a Lambda timeout) lapses with its lease.
//! - `deployment#<org>/<project>/<stack>#<version>`: the deployment's message (`channel`, `ts`) and
//!   the `rank` of the status it shows; `state` = `posting` while its first message is being posted.
//! - `preview#<org>/<project>/<stack>`: the stack's latest preview message, for as long as the
//!   thread window lasts.
//!
//! Every write that decides who does something is a conditional write, so concurrent invocations
//! (Pulumi delivering the same event twice at once, or a deployment's `running` and `succeeded`
//! arriving together) agree on one winner without locks.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use crate::slack::Posted;

use super::{Anchor, Claim, ClaimToken, Reservation, Start, StateError};

use relay_core::contract::state_table::{DELIVERY_TTL, DEPLOYMENT_TTL, HASH_KEY, TTL_ATTRIBUTE};

type Item = HashMap<String, AttributeValue>;

/// The relay's handle on its state table.
#[derive(Clone, Debug)]
pub struct StateTable {
    client: Client,
    table: String,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn get_n(item: &Item, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

fn posted_in(item: &Item) -> Option<Posted> {
    Some(Posted {
        channel: get_s(item, "channel")?.to_owned(),
        ts: get_s(item, "ts")?.to_owned(),
    })
}

impl StateTable {
    /// The table `table`, through `client` ([`crate::aws::Aws::dynamodb`]).
    pub fn new(client: Client, table: &str) -> StateTable {
        StateTable {
            client,
            table: table.to_owned(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn error(&self, doing: &'static str, error: impl std::error::Error) -> StateError {
        StateError {
            store: format!("the state table {:?}", self.table),
            doing,
            why: DisplayErrorContext(error).to_string(),
        }
    }

    /// Claims delivery `key` (from `contract::state_table::delivery_key`) for `lease`: it must cover the whole
    /// delivery, Slack's deadline included, or a slow attempt could be overtaken by a redelivery.
    pub async fn claim(&self, key: &str, lease: Duration) -> Result<Claim, StateError> {
        let now = now();
        let token = ClaimToken(format!(
            "{:016x}",
            getrandom::u64().map_err(|e| self.error("draw a claim token", e))?
        ));
        let put = self
            .leased_put(key, "claimed", lease, DELIVERY_TTL)
            .item("token", s(&token.0))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let existing = match put {
            Ok(_) => return Ok(Claim::Won(token)),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(e)) => {
                    match e.item() {
                        Some(item) => item.clone(),
                        // Not every DynamoDB implementation returns the old item: read it.
                        None => match self.get(key).await? {
                            Some(item) => item,
                            // Deleted in between (its holder failed): try once more.
                            None => return Box::pin(self.claim(key, lease)).await,
                        },
                    }
                }
                _ => return Err(self.error("record a delivery claim", error)),
            },
        };
        if get_s(&existing, "state") == Some("posted")
            && let Some(posted) = posted_in(&existing)
        {
            return Ok(Claim::AlreadyPosted(posted));
        }
        let until = get_n(&existing, "lease_until").unwrap_or(now);
        Ok(Claim::InFlight {
            lease_left: Duration::from_secs(until.saturating_sub(now).max(1)),
        })
    }

    /// Records `key` for `ttl`; `false` when it is already recorded (and not expired).
    pub async fn remember(&self, key: &str, ttl: Duration) -> Result<bool, StateError> {
        match self.leased_put(key, "seen", ttl, ttl).send().await {
            Ok(_) => Ok(true),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(self.error("remember a Slack request", error)),
            },
        }
    }

    /// A put of `key` in `state`, held for `lease` and kept for `ttl`, that succeeds only when the
    /// key is free or its earlier holder (in the same state) let the lease run out.
    fn leased_put(
        &self,
        key: &str,
        state: &str,
        lease: Duration,
        ttl: Duration,
    ) -> PutItemFluentBuilder {
        let now = now();
        self.client
            .put_item()
            .table_name(&self.table)
            .item(HASH_KEY, s(key))
            .item("state", s(state))
            .item("lease_until", n(now + lease.as_secs()))
            .item(TTL_ATTRIBUTE, n(now + ttl.as_secs()))
            .condition_expression("attribute_not_exists(pk) OR (#state = :held AND #lease < :now)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_values(":held", s(state))
            .expression_attribute_values(":now", n(now))
    }

    /// Records that the claimed delivery was posted, so redeliveries of it answer without posting.
    pub async fn posted(
        &self,
        key: &str,
        token: &ClaimToken,
        posted: &Posted,
    ) -> Result<(), StateError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(HASH_KEY, s(key))
            .update_expression("SET #state = :posted, #channel = :channel, #ts = :ts REMOVE #lease")
            .condition_expression("#token = :token")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#channel", "channel")
            .expression_attribute_names("#ts", "ts")
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":posted", s("posted"))
            .expression_attribute_values(":channel", s(&posted.channel))
            .expression_attribute_values(":ts", s(&posted.ts))
            .expression_attribute_values(":token", s(&token.0))
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("mark a delivery posted", e))
    }

    /// Gives a failed delivery's claim back, so the redelivery Pulumi sends is tried afresh.
    pub async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), StateError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(HASH_KEY, s(key))
            .condition_expression("#token = :token")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":token", s(&token.0))
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("release a delivery claim", e))
    }

    async fn get(&self, key: &str) -> Result<Option<Item>, StateError> {
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(HASH_KEY, s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error("read an item", e))?;
        Ok(answer.item)
    }

    /// The living message at `key`, if there is one and it has not expired (DynamoDB's TTL deletes
    /// lazily, so the expiry is checked here too).
    pub async fn find(&self, key: &str) -> Result<Option<Anchor>, StateError> {
        let Some(item) = self.get(key).await? else {
            return Ok(None);
        };
        Ok(anchor_in(&item).filter(|_| get_n(&item, TTL_ATTRIBUTE).is_none_or(|at| at > now())))
    }

    /// Reserves `key` for the first message of a deployment, unless it exists or is being posted.
    pub async fn reserve(&self, key: &str, rank: u8) -> Result<Reservation, StateError> {
        // A reservation whose holder died blocks the key only a minute.
        let put = self
            .leased_put(key, "posting", Duration::from_secs(60), DEPLOYMENT_TTL)
            .item("rank", n(rank.into()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Reservation::Won),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(match self.get(key).await?.as_ref().and_then(anchor_in) {
                    Some(anchor) => Reservation::Existing(anchor),
                    None => Reservation::Pending,
                })
            }
            Err(error) => Err(self.error("reserve a deployment message", error)),
        }
    }

    /// Stores (or replaces) the living message at `key`, kept for `ttl`.
    pub async fn anchor(
        &self,
        key: &str,
        anchor: &Anchor,
        ttl: Duration,
    ) -> Result<(), StateError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(HASH_KEY, s(key))
            .item("state", s("posted"))
            .item("channel", s(&anchor.posted.channel))
            .item("ts", s(&anchor.posted.ts))
            .item("requested_channel", s(&anchor.requested_channel))
            .item("rank", n(anchor.rank.into()))
            .item(TTL_ATTRIBUTE, n(now() + ttl.as_secs()))
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("store a message's place", e))
    }

    pub async fn remember_start(
        &self,
        key: &str,
        start: &Start,
        ttl: Duration,
    ) -> Result<(), StateError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(HASH_KEY, s(key))
            .item("state", s("started"))
            .item("started_by", s(&start.user))
            .item(TTL_ATTRIBUTE, n(now() + ttl.as_secs()));
        if let Some(thread) = &start.thread {
            put = put
                .item("channel", s(&thread.channel))
                .item("ts", s(&thread.ts));
        }
        put.send()
            .await
            .map(drop)
            .map_err(|e| self.error("remember who started a deployment", e))
    }

    pub async fn start(&self, key: &str) -> Result<Option<Start>, StateError> {
        let Some(item) = self.get(key).await? else {
            return Ok(None);
        };
        let live = get_n(&item, TTL_ATTRIBUTE).is_none_or(|at| at > now());
        Ok((live && get_s(&item, "state") == Some("started"))
            .then(|| get_s(&item, "started_by"))
            .flatten()
            .map(|user| Start {
                user: user.to_owned(),
                thread: posted_in(&item),
            }))
    }

    /// Raises the rank shown by the message at `key` to `rank`; `false` when it already shows a
    /// later status (the event arrived out of order and must not overwrite it).
    pub async fn advance(&self, key: &str, rank: u8) -> Result<bool, StateError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(HASH_KEY, s(key))
            .update_expression("SET #rank = :rank")
            .condition_expression("#rank <= :rank")
            .expression_attribute_names("#rank", "rank")
            .expression_attribute_values(":rank", n(rank.into()))
            .send()
            .await;
        match update {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(self.error("update a message's status", error)),
        }
    }

    /// Deletes `key`: a reservation whose post failed, or a preview whose update has replied.
    pub async fn forget(&self, key: &str) -> Result<(), StateError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(HASH_KEY, s(key))
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("delete an item", e))
    }

    /// Creates the table as `infra` declares it (key `pk`, TTL on `expires_at`), for local runs
    /// against an emulator and for tests.
    pub async fn create(&self) -> Result<(), StateError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
            TimeToLiveSpecification,
        };
        let built = |e: aws_sdk_dynamodb::error::BuildError| self.error("describe the table", e);
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(HASH_KEY)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(built)?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(HASH_KEY)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(built)?,
            )
            .send()
            .await
            .map_err(|e| self.error("be created", e))?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()
                    .map_err(built)?,
            )
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("enable TTL", e))
    }
}

fn anchor_in(item: &Item) -> Option<Anchor> {
    if get_s(item, "state") != Some("posted") {
        return None;
    }
    Some(Anchor {
        posted: posted_in(item)?,
        requested_channel: get_s(item, "requested_channel")
            .unwrap_or_default()
            .to_owned(),
        rank: get_n(item, "rank")
            .and_then(|r| u8::try_from(r).ok())
            .unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_posted_item_is_an_anchor() {
        let mut item = Item::new();
        item.insert("state".into(), s("posting"));
        item.insert("channel".into(), s("C1"));
        item.insert("ts".into(), s("1.2"));
        item.insert("rank".into(), n(2));
        assert_eq!(anchor_in(&item), None);
        item.insert("state".into(), s("posted"));
        let anchor = anchor_in(&item).expect("a posted item with channel and ts");
        assert_eq!(anchor.posted.ts, "1.2");
        assert_eq!(anchor.rank, 2);
    }
}
