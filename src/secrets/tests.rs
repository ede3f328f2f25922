//! Shipped and weak secrets: refused against real upstreams, warned about with the simulators.

use super::*;
use crate::config::embedded_default;

/// The embedded default with simulators off and every secret set properly.
fn deployed() -> Settings {
    let mut s = embedded_default();
    s.simulators.enabled = false;
    s.pipeline.citizen_key_secret = "8f0c2b7e4d1a9c3f6b5e2d8a7c4f1e0b".into();
    let c = &mut s.connectors;
    c.hotline_12345.app_secret = "given-by-hubei-12345".into();
    c.supervision.token = "given-by-supervision".into();
    c.yunshang_app.client_secret = "given-by-yunshang".into();
    c.police_110.token = "given-by-the-110".into();
    c.tax_12366.password = "given-by-12366".into();
    c.wechat.token = "our-wechat-token-2026".into();
    c.wechat.encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".into();
    c.grid.secret = "our-grid-secret-2026-x".into();
    s.forwarder.huangshi.secret = "given-by-huangshi".into();
    s
}

#[test]
fn a_deployment_with_its_own_secrets_passes() {
    let s = deployed();
    assert_eq!(findings(&s), vec![]);
    gate(&s, Gate::Serve).unwrap();
}

#[test]
fn the_embedded_default_names_every_shipped_secret() {
    let mut s = embedded_default();
    let paths: Vec<String> = findings(&s).into_iter().map(|f| f.path).collect();
    for want in [
        "pipeline.citizen_key_secret",
        "connectors.hotline_12345.app_secret",
        "connectors.supervision.token",
        "connectors.yunshang_app.client_secret",
        "connectors.police_110.token",
        "connectors.tax_12366.password",
        "connectors.wechat.token",
        "connectors.wechat.encoding_aes_key",
        "connectors.grid.secret",
        "forwarder.huangshi.secret",
    ] {
        assert!(paths.iter().any(|p| p == want), "{want} missing from {paths:?}");
    }
    // On loopback with the simulators: warnings only.
    assert!(simulators_only(&s));
    gate(&s, Gate::Serve).unwrap();
    // Reachable from outside, or against real upstreams: refused, by name.
    s.server.listen = "0.0.0.0:8080".into();
    let e = gate(&s, Gate::Serve).unwrap_err().to_string();
    assert!(
        e.contains("`pipeline.citizen_key_secret`") && e.contains("MINQING__CONNECTORS__GRID__SECRET"),
        "{e}"
    );
    s.server.listen = "127.0.0.1:8080".into();
    s.simulators.enabled = false;
    assert!(gate(&s, Gate::Serve).is_err());
    // The demo runs its own simulators whatever the config says.
    gate(&s, Gate::Demo).unwrap();
}

#[test]
fn empty_short_and_placeholder_secrets_are_refused_one_by_one() {
    let mut s = deployed();
    s.connectors.grid.secret = Default::default();
    s.pipeline.citizen_key_secret = "short-but-not-shipped".into();
    s.connectors.police_110.token = "change-me-later-please".into();
    let f = findings(&s);
    let why = |p: &str| f.iter().find(|x| x.path == p).map(|x| x.why.clone()).unwrap_or_default();
    assert_eq!(why("connectors.grid.secret"), "empty");
    assert!(why("pipeline.citizen_key_secret").contains("use at least 32"), "{f:?}");
    assert!(why("connectors.police_110.token").contains("shipped"), "{f:?}");
    assert_eq!(f.len(), 3, "{f:?}");
    // A disabled channel's secret is not in use.
    s.connectors.grid.enabled = false;
    assert!(!findings(&s).iter().any(|x| x.path == "connectors.grid.secret"));
}

/// A retired citizen key needs an id of its own and a secret other
/// than the current one; its secret is checked like the current one.
#[test]
#[allow(clippy::result_large_err)]
fn retired_citizen_keys_are_checked() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "rot.toml",
            "[pipeline]\ncitizen_key_id = \"k2\"\n\
             [[pipeline.previous_citizen_keys]]\nid = \"k2\"\nsecret = \"short\"\n",
        )?;
        let err = crate::config::load(Some(std::path::Path::new("rot.toml"))).unwrap_err().to_string();
        assert!(err.contains("`pipeline.previous_citizen_keys[0].id`: `k2`"), "{err}");
        let s: Settings = crate::config::figment(Some(std::path::Path::new("rot.toml")))
            .extract()
            .map_err(|e| e.to_string())?;
        let weak: Vec<String> = findings(&s).iter().map(|f| f.path.clone()).collect();
        assert!(weak.contains(&"pipeline.previous_citizen_keys[0].secret".to_owned()), "{weak:?}");
        Ok(())
    });
}

/// Issue 32, item 8: a configuration printed with `{:?}` (a log line, a
/// panic) shows no token, password or key.
#[test]
fn printed_settings_show_no_secret() {
    let mut s = deployed();
    s.warehouse.clickhouse.password = "a-clickhouse-password".into();
    let printed = format!("{s:?}");
    for secret in [
        "8f0c2b7e4d1a9c3f6b5e2d8a7c4f1e0b",
        "given-by-hubei-12345",
        "given-by-supervision",
        "given-by-yunshang",
        "given-by-the-110",
        "given-by-12366",
        "our-wechat-token-2026",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "our-grid-secret-2026-x",
        "given-by-huangshi",
        "a-clickhouse-password",
    ] {
        assert!(!printed.contains(secret), "`{secret}` printed");
    }
    assert!(printed.contains("***"));
}
