//! Topic Aliases an MQTT 5 client sets on its PUBLISHes (3.3.2.3.4): a number that stands for
//! a topic from then on, so a node sending the same long topic every few seconds sends it
//! once. They belong to one connection and end with it (MQTT-3.3.2-7).

use crate::codec::v5::{DisconnectReason, Publish};

/// The Topic Alias Maximum the server gives clients in CONNACK, as Mosquitto's default.
pub(crate) const TOPIC_ALIAS_MAXIMUM: u16 = 10;

/// One connection's aliases, the topic each stands for.
#[derive(Default)]
pub(crate) struct TopicAliases {
    /// Index `alias - 1`; grown only as far as the client uses.
    topics: Vec<Option<String>>,
}

/// A PUBLISH whose alias breaks the rules; the connection ends with this reason.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BadAlias {
    pub reason: DisconnectReason,
    pub why: String,
}

impl TopicAliases {
    /// Gives `publish` its full topic and takes its alias off: a PUBLISH with a topic and an
    /// alias (re)sets the alias, one with an alias and no topic uses it.
    pub(crate) fn resolve(&mut self, publish: &mut Publish) -> Result<(), BadAlias> {
        let Some(alias) = publish.properties.topic_alias.take() else {
            return Ok(());
        };
        if alias == 0 || alias > TOPIC_ALIAS_MAXIMUM {
            // 0 is refused by the codec already; above the maximum is the server's to judge.
            return Err(BadAlias {
                reason: DisconnectReason::TopicAliasInvalid,
                why: format!(
                    "Topic Alias {alias} is outside 1..={TOPIC_ALIAS_MAXIMUM} (MQTT-3.3.2-9)"
                ),
            });
        }
        let index = usize::from(alias - 1);
        if publish.topic.is_empty() {
            return match self.topics.get(index).and_then(Option::as_ref) {
                Some(topic) => {
                    publish.topic.clone_from(topic);
                    Ok(())
                }
                None => Err(BadAlias {
                    reason: DisconnectReason::ProtocolError,
                    why: format!("PUBLISH with no topic uses Topic Alias {alias}, never set"),
                }),
            };
        }
        if self.topics.len() <= index {
            self.topics.resize(index + 1, None);
        }
        if let Some(slot) = self.topics.get_mut(index) {
            *slot = Some(publish.topic.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::QoS;

    fn publish(topic: &str, alias: Option<u16>) -> Publish {
        Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: topic.into(),
            pkid: 0,
            properties: crate::codec::v5::PublishProperties {
                topic_alias: alias,
                ..Default::default()
            },
            payload: "21.5".into(),
        }
    }

    #[test]
    fn an_alias_set_with_a_topic_stands_for_it_until_set_again() {
        let mut aliases = TopicAliases::default();
        let mut first = publish("Kitchen/Fridge/temperature", Some(3));
        aliases.resolve(&mut first).unwrap();
        assert_eq!(
            first.properties.topic_alias, None,
            "the alias goes no further"
        );
        let mut next = publish("", Some(3));
        aliases.resolve(&mut next).unwrap();
        assert_eq!(next.topic, "Kitchen/Fridge/temperature");
        aliases.resolve(&mut publish("Hall/door", Some(3))).unwrap();
        let mut after = publish("", Some(3));
        aliases.resolve(&mut after).unwrap();
        assert_eq!(after.topic, "Hall/door");
    }

    #[test]
    fn an_unknown_or_out_of_range_alias_ends_the_connection_with_its_reason() {
        let mut aliases = TopicAliases::default();
        let unknown = aliases.resolve(&mut publish("", Some(2))).unwrap_err();
        assert_eq!(unknown.reason, DisconnectReason::ProtocolError);
        let above = aliases
            .resolve(&mut publish("a", Some(TOPIC_ALIAS_MAXIMUM + 1)))
            .unwrap_err();
        assert_eq!(above.reason, DisconnectReason::TopicAliasInvalid);
    }
}
