use super::*;

fn matched(tree: &mut SubscriptionTree, topic: &str) -> Vec<(SessionKey, QoS)> {
    let mut out = Vec::new();
    tree.matches(topic, &mut out, &mut Vec::new());
    out.into_iter().map(|(s, grant)| (s, grant.qos)).collect()
}

#[test]
fn trie_agrees_with_the_reference_matcher() {
    let filters = [
        "a/b", "a/+", "a/#", "#", "+/+", "+", "/+", "+/b", "a/+/c", "$SYS/#", "$SYS/+", "a//b",
    ];
    let topics = [
        "a",
        "a/b",
        "a/c",
        "a/b/c",
        "/x",
        "x",
        "$SYS/broker",
        "$SYS",
        "a//b",
        "b/b",
        "",
    ];
    let mut tree = SubscriptionTree::default();
    for (i, f) in filters.iter().enumerate() {
        tree.insert(f, i as SessionKey, Grant::qos(QoS::AtMostOnce));
    }
    for topic in topics {
        let mut got: Vec<_> = matched(&mut tree, topic)
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        got.sort_unstable();
        let want: Vec<_> = filters
            .iter()
            .enumerate()
            .filter(|(_, f)| mqtt_topic::matches(f, topic))
            .map(|(i, _)| i as SessionKey)
            .collect();
        assert_eq!(got, want, "topic {topic:?}");
    }
}

#[test]
fn overlapping_filters_give_one_entry_at_the_highest_qos() {
    let mut tree = SubscriptionTree::default();
    tree.insert("a/#", 1, Grant::qos(QoS::AtMostOnce));
    tree.insert("a/b", 1, Grant::qos(QoS::ExactlyOnce));
    tree.insert("+/b", 1, Grant::qos(QoS::AtLeastOnce));
    tree.insert("a/b", 2, Grant::qos(QoS::AtLeastOnce));
    assert_eq!(
        matched(&mut tree, "a/b"),
        vec![(1, QoS::ExactlyOnce), (2, QoS::AtLeastOnce)]
    );
}

#[test]
fn resubscribing_replaces_and_unsubscribing_cleans_up() {
    let mut tree = SubscriptionTree::default();
    tree.insert("a/b", 1, Grant::qos(QoS::AtMostOnce));
    tree.insert("a/b", 1, Grant::qos(QoS::AtLeastOnce));
    assert_eq!(tree.len(), 1);
    assert_eq!(matched(&mut tree, "a/b"), vec![(1, QoS::AtLeastOnce)]);
    assert!(tree.remove("a/b", 1));
    assert!(!tree.remove("a/b", 1));
    assert_eq!(tree.len(), 0);
    assert!(matched(&mut tree, "a/b").is_empty());
}

#[test]
fn overlapping_subscriptions_merge_their_options() {
    let mut tree = SubscriptionTree::default();
    let no_local = Grant {
        no_local: true,
        ..Grant::qos(QoS::AtMostOnce)
    };
    let as_published = Grant {
        retain_as_published: true,
        ..Grant::qos(QoS::AtLeastOnce)
    };
    tree.insert("a/#", 1, no_local);
    tree.insert("a/b", 1, as_published);
    tree.insert("+/b", 2, no_local);
    tree.insert("a/+", 2, no_local);
    let mut out = Vec::new();
    tree.matches("a/b", &mut out, &mut Vec::new());
    let merged = Grant {
        qos: QoS::AtLeastOnce,
        no_local: false,
        retain_as_published: true,
        id: None,
    };
    assert_eq!(out, vec![(1, merged), (2, no_local)]);
}

#[test]
fn every_matching_identifier_is_gathered_by_session() {
    let id = |n| NonZeroU32::new(n);
    let with_id = |n| Grant {
        id: id(n),
        ..Grant::qos(QoS::AtMostOnce)
    };
    let mut tree = SubscriptionTree::default();
    tree.insert("a/#", 2, with_id(9));
    tree.insert("a/b", 1, with_id(7));
    tree.insert("+/b", 1, Grant::qos(QoS::AtLeastOnce));
    tree.insert("a/+", 1, with_id(8));
    tree.insert("x/#", 3, with_id(5));
    let (mut out, mut ids) = (Vec::new(), Vec::new());
    tree.matches("a/b", &mut out, &mut ids);
    assert_eq!(out.len(), 2, "one entry per session: {out:?}");
    ids.sort_unstable();
    let want: Vec<_> = [(1, 7), (1, 8), (2, 9)]
        .into_iter()
        .filter_map(|(s, n)| Some((s, id(n)?)))
        .collect();
    assert_eq!(ids, want);
    tree.matches("a", &mut out, &mut ids);
    let want: Vec<_> = id(9).map(|n| (2, n)).into_iter().collect();
    assert_eq!(ids, want, "a lone match keeps its identifier");
}

fn chosen(tree: &mut SubscriptionTree, topic: &str) -> Vec<SessionKey> {
    let mut out = Vec::new();
    tree.choose_shared(topic, |_| Some(Readiness::Ready), &mut out);
    out.into_iter().map(|(s, _)| s).collect()
}

#[test]
fn shared_filters_are_parsed_and_checked() {
    let parsed = parse_shared("$share/g/a/+/c").and_then(Result::ok);
    assert_eq!(parsed.map(|s| (s.group, s.filter)), Some(("g", "a/+/c")));
    assert!(parse_shared("a/b").is_none());
    assert!(
        parse_shared("$shared/g/t").is_none(),
        "only $share/ is special"
    );
    for bad in [
        "$share/g",
        "$share//t",
        "$share/g+/t",
        "$share/#/t",
        "$share/g/",
    ] {
        assert!(matches!(parse_shared(bad), Some(Err(_))), "{bad}");
    }
}

#[test]
fn a_shared_group_is_kept_apart_from_plain_subscriptions() {
    let mut tree = SubscriptionTree::default();
    tree.insert("$share/g/a/#", 1, Grant::qos(QoS::AtMostOnce));
    tree.insert("$share/g/a/#", 2, Grant::qos(QoS::AtMostOnce));
    tree.insert("a/b", 3, Grant::qos(QoS::AtMostOnce));
    assert_eq!(tree.len(), 3);
    assert_eq!(matched(&mut tree, "a/b"), vec![(3, QoS::AtMostOnce)]);
    assert_eq!(chosen(&mut tree, "a/b"), [1]);
    assert_eq!(chosen(&mut tree, "a/b"), [2]);
    assert_eq!(chosen(&mut tree, "x"), Vec::<SessionKey>::new());
    assert_eq!(
        chosen(&mut tree, "$SYS/a"),
        Vec::<SessionKey>::new(),
        "MQTT-4.7.2-1"
    );
}

#[test]
fn leaving_a_group_keeps_the_next_members_turn_and_cleans_up() {
    let mut tree = SubscriptionTree::default();
    for member in 1..=3 {
        tree.insert("$share/g/t", member, Grant::qos(QoS::AtMostOnce));
    }
    assert_eq!(chosen(&mut tree, "t"), [1]);
    assert!(tree.remove("$share/g/t", 1));
    assert_eq!(chosen(&mut tree, "t"), [2], "2 was next and still is");
    assert!(tree.remove("$share/g/t", 3));
    assert!(!tree.remove("$share/g/t", 3));
    assert_eq!(chosen(&mut tree, "t"), [2]);
    assert!(tree.remove("$share/g/t", 2));
    assert_eq!(tree.len(), 0);
    assert_eq!(chosen(&mut tree, "t"), Vec::<SessionKey>::new());
}

#[test]
fn the_readiest_member_is_chosen_and_one_that_cannot_read_never() {
    let mut tree = SubscriptionTree::default();
    for member in 1..=3 {
        tree.insert("$share/g/t", member, Grant::qos(QoS::AtMostOnce));
    }
    let readiness = |s: SessionKey| match s {
        1 => None,
        2 => Some(Readiness::Offline),
        _ => Some(Readiness::Busy),
    };
    let mut out = Vec::new();
    tree.choose_shared("t", readiness, &mut out);
    assert_eq!(out.iter().map(|&(s, _)| s).collect::<Vec<_>>(), [3]);
    tree.choose_shared("t", |s| (s == 2).then_some(Readiness::Offline), &mut out);
    assert_eq!(out.iter().map(|&(s, _)| s).collect::<Vec<_>>(), [2]);
    tree.choose_shared("t", |_| None, &mut out);
    assert!(out.is_empty());
}
