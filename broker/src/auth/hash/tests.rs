use super::*;

/// Written by Debian's `mosquitto_passwd` 2.0.11 (`-b -c FILE USER PASSWORD`; carol with
/// `-H sha512`, dave with `-I 1000`): (user, password, line).
pub(crate) const MOSQUITTO_2_0_11: &[(&str, &str, &str)] = &[
    (
        "alice",
        "correct horse",
        "alice:$7$101$3dt6b/4lYawy3vpo$IHepqqMrlcse7+/Q6Sq1tCMScfZUzE0/ndo/C/ZGuhm2KvA7cxvD69BmhPsZ5CD0y/MPc1dAAaYXWZsBMPWc9w==",
    ),
    (
        "bob",
        "pässwörd 🔑",
        "bob:$7$101$i8GO5hzWJEHmGrw4$rBnqDI92LzytBZ+EpRX3Rzy0gxYXBKQXcqlsR45Aqb/VIkFCWTVlJSOGWVJ5nZe76FL7y29h8jM9tpNkbri9pA==",
    ),
    (
        "carol",
        "hunter2",
        "carol:$6$pIIR0U5Al/JNQz38$+AP2go2sKyPb8z0hpCKipiAyJn6ekUbADMshfqkr28HnOOx7miLunHwOoE0YxFyl0cniGKEd4FLQWxaDd1XWcA==",
    ),
    (
        "dave",
        "swordfish",
        "dave:$7$1000$88kCRZMiHNC+u7Q9$NAv3VaIQyMyifq2EDgChmZLIpLCo+Zkh88nvVJT5Xx8/e3hN5lnCiUReiHdvnJH+XahLmxtd38IPmJ17rdCflg==",
    ),
    (
        "erin",
        "",
        "erin:$7$101$mDmcdMuYTFnS3Tus$GESkACrDUXbKiEiydbbPdVZSRRotLxqNjCMX6URIJndbvJGhwtzvlADR7A1FFnz3dSA9CNs1Hc0IV9WmiRmpkg==",
    ),
];

/// Written by the reference implementation, Debian's `argon2` 0~20190702 (libargon2, which
/// Mosquitto 2.1 uses): `echo -n 'correct horse' | argon2 SALT -id -t T -k M -p P -l LEN -e`.
/// The first has a 64-byte salt and hash, as Mosquitto 2.1 writes them.
pub(crate) const LIBARGON2: &[&str] = &[
    "$argon2id$v=19$m=4096,t=1,p=1$aGVhcnRoLXJlZmVyZW5jZS1zYWx0LTAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OQ$5D72zp5w6AXYnKb7QMEWk6H0QaWj5sbLcCo5tb7XXg3bzWRmeAJha0ssz6Y/agershNWFUAjrDTZqRy99/opIA",
    "$argon2id$v=19$m=4096,t=2,p=2$c29tZXNhbHQxNmJ5dGVzIQ$RUZmzA5LQWYdH1n1LzgWVFKruOyPKAueZ84xVzweWHE",
];

fn hash_of(line: &str) -> &str {
    line.split_once(':').expect("user:hash").1
}

#[test]
fn mosquitto_passwd_hashes_verify_their_password_only() {
    for (user, password, line) in MOSQUITTO_2_0_11 {
        let stored = StoredHash::parse(hash_of(line)).expect(user);
        assert!(stored.verify(password.as_bytes()), "{user}");
        assert!(!stored.verify(b"wrong"), "{user}");
        assert!(!stored.verify(format!("{password} ").as_bytes()), "{user}");
    }
}

#[test]
fn mosquitto_schemes_and_parameters_are_read() {
    let scheme = |i: usize| StoredHash::parse(hash_of(MOSQUITTO_2_0_11[i].2)).expect("parse");
    assert!(matches!(
        scheme(0),
        StoredHash::Pbkdf2Sha512 { iterations: 101, ref salt, .. } if salt.len() == 12
    ));
    assert!(matches!(scheme(2), StoredHash::Sha512 { ref salt, .. } if salt.len() == 12));
    assert!(matches!(
        scheme(3),
        StoredHash::Pbkdf2Sha512 {
            iterations: 1000,
            ..
        }
    ));
}

#[test]
fn mosquitto_hashes_are_written_back_exactly_as_read() {
    for (_, _, line) in MOSQUITTO_2_0_11 {
        let text = hash_of(line);
        assert_eq!(StoredHash::parse(text).expect("parse").encode(), text);
    }
}

#[test]
fn libargon2_hashes_verify_with_their_own_parameters() {
    for text in LIBARGON2 {
        let stored = StoredHash::parse(text).expect("parse");
        assert!(stored.verify(b"correct horse"), "{text}");
        assert!(!stored.verify(b"correct horse!"), "{text}");
        assert_eq!(stored.encode(), *text);
    }
    assert!(matches!(
        StoredHash::parse(LIBARGON2[0]).expect("parse"),
        StoredHash::Argon2id { m_kib: 4096, t: 1, p: 1, ref salt, ref hash, .. }
            if salt.len() == 64 && hash.len() == 64
    ));
}

#[test]
fn argon2id_memory_left_by_other_verifications_changes_no_answer() {
    let hearth = StoredHash::new_argon2id(b"s3cret").expect("hash");
    let libargon2: Vec<StoredHash> = LIBARGON2
        .iter()
        .map(|text| StoredHash::parse(text).expect("parse"))
        .collect();
    let mut memory = Argon2Memory::new();
    // Hearth's 8 MiB first, then 4 MiB ones in a prefix of it, wrong passwords in between.
    for _ in 0..2 {
        assert!(hearth.verify_in(b"s3cret", &mut memory));
        assert!(!hearth.verify_in(b"s3cret!", &mut memory));
        for stored in &libargon2 {
            assert!(!stored.verify_in(b"correct horse!", &mut memory));
            assert!(stored.verify_in(b"correct horse", &mut memory));
        }
    }
    assert_eq!(
        memory.len(),
        ARGON2_M_KIB as usize,
        "grown once, to the largest"
    );
}

#[test]
fn new_hashes_are_argon2id_with_hearths_parameters_and_a_random_salt() {
    let a = StoredHash::new_argon2id(b"s3cret").expect("hash");
    let b = StoredHash::new_argon2id(b"s3cret").expect("hash");
    assert_ne!(a, b, "each hash has its own salt");
    let text = a.encode();
    assert!(text.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"), "{text}");
    assert!(matches!(&a, StoredHash::Argon2id { salt, hash, .. }
        if salt.len() == SALT_LEN && hash.len() == HASH_LEN));
    let read = StoredHash::parse(&text).expect("parse");
    assert_eq!(read, a);
    assert!(read.verify(b"s3cret"));
    assert!(!read.verify(b"s3cret\n"));
    assert!(!read.verify(b""));
}

#[test]
fn new_hashes_are_standard_phc_strings() {
    use argon2::{PasswordHash, PasswordVerifier};
    let text = StoredHash::new_argon2id(b"s3cret").expect("hash").encode();
    let phc = PasswordHash::new(&text).expect("PHC string");
    assert!(Argon2::default().verify_password(b"s3cret", &phc).is_ok());
    assert!(Argon2::default().verify_password(b"other", &phc).is_err());
}

#[test]
fn an_empty_password_is_a_password() {
    let stored = StoredHash::new_argon2id(b"").expect("hash");
    assert!(stored.verify(b""));
    assert!(!stored.verify(b"x"));
}

#[test]
fn decoys_cost_the_same_scheme_and_match_nothing() {
    for (user, password, line) in MOSQUITTO_2_0_11 {
        let stored = StoredHash::parse(hash_of(line)).expect(user);
        let decoy = stored.decoy();
        assert_eq!(decoy.scheme(), stored.scheme());
        assert_eq!(format!("{decoy:?}"), format!("{stored:?}"));
        assert!(!decoy.verify(password.as_bytes()));
    }
    let decoy = StoredHash::default_decoy();
    assert_eq!(format!("{decoy:?}"), "Argon2id(v=19, m=8192, t=1, p=1)");
    assert!(!decoy.verify(b""));
}

#[test]
fn debug_shows_the_scheme_and_parameters_only() {
    let stored = StoredHash::parse(hash_of(MOSQUITTO_2_0_11[0].2)).expect("parse");
    assert_eq!(format!("{stored:?}"), "Pbkdf2Sha512(iterations=101)");
    let carol = StoredHash::parse(hash_of(MOSQUITTO_2_0_11[2].2)).expect("parse");
    assert_eq!(format!("{carol:?}"), "Sha512");
}

#[test]
fn malformed_hashes_are_explained_without_quoting_them() {
    let pbkdf2 = hash_of(MOSQUITTO_2_0_11[0].2);
    let (salt, hash) = ("3dt6b/4lYawy3vpo", &pbkdf2[26..]);
    let cases: &[(&str, &str)] = &[
        ("plain-text-password", "not hashed"),
        ("", "not hashed"),
        (
            "$2y$10$abcdefghijklmnopqrstuv",
            "bcrypt hashes are not supported",
        ),
        (
            "$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
            "argon2i hashes",
        ),
        ("$9$whatever$else", "unknown hash scheme"),
        (
            &format!("$7$101${salt}"),
            "expected $7$ITERATIONS$SALT$HASH",
        ),
        (&format!("$7$0${salt}${hash}"), "at least 1"),
        (
            &format!("$7$many${salt}${hash}"),
            "whole number of iterations",
        ),
        (
            &format!("$7$101$!!!!${hash}"),
            "the salt is not valid base64",
        ),
        (&format!("$7$101${salt}$c2hvcnQ="), "found 5 bytes"),
        (&format!("$6${salt}${hash}$extra"), "expected $6$SALT$HASH"),
        (&format!("$6$${hash}"), "salt must be at least 1"),
        (
            "$argon2id$v=19$m=4096,t=3$c2FsdHNhbHQ$aGFzaGhhc2g",
            "expected $argon2id$",
        ),
        (
            "$argon2id$v=19$m=4096,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
            "argon2id hash:",
        ),
        (
            "$argon2id$v=7$m=4096,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
            "version 7 is unknown",
        ),
        (
            "$argon2id$v=19$m=4096,t=1,p=1$c2FsdA$aGFzaGhhc2g",
            "at least 8",
        ),
        (
            "$argon2id$v=19$m=4096,t=1,p=1$c2FsdHNhbHQ$a=",
            "hash is not valid base64",
        ),
    ];
    for (text, expected) in cases {
        let err = StoredHash::parse(text).expect_err(text).to_string();
        assert!(err.contains(expected), "{text}: {err}");
        for secret in [
            salt,
            hash,
            "plain-text",
            "abcdefghijkl",
            "c2FsdHNhbHQ",
            "aGFzaGhhc2g",
        ] {
            assert!(!err.contains(secret), "{err} quotes the input");
        }
    }
}

#[test]
fn an_argon2id_hash_without_a_version_is_version_16() {
    let text = "$argon2id$m=4096,t=1,p=1$c29tZXNhbHQxNmJ5dGVzIQ$RUZmzA5LQWYdH1n1LzgWVFKruOyPKAueZ84xVzweWHE";
    assert!(matches!(
        StoredHash::parse(text).expect("parse"),
        StoredHash::Argon2id { version: 16, .. }
    ));
}
