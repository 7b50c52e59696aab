//! The tags that mark what exo-deploy created, and the one rule for reading them back: only
//! what carries all three, for this app and environment, is ever deleted. One place for the
//! rule: the rendered Terraform (`default_tags`), bootstrap, push (ECR) and nuke use it.

use std::collections::BTreeMap;

pub const APP: &str = "exo-deploy:app";
pub const ENV: &str = "exo-deploy:env";
pub const MANAGED: &str = "exo-deploy:managed";

/// The tags of a resource exo-deploy creates for `app`/`env`.
pub fn managed(app: &str, env: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (APP.to_string(), app.to_string()),
        (ENV.to_string(), env.to_string()),
        (MANAGED.to_string(), "true".to_string()),
    ])
}

/// True when `tags` say exo-deploy created the resource for this app and environment.
pub fn is_managed_for<'a>(
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    app: &str,
    env: &str,
) -> bool {
    let tags: BTreeMap<&str, &str> = tags.into_iter().collect();
    tags.get(MANAGED) == Some(&"true") && tags.get(APP) == Some(&app) && tags.get(ENV) == Some(&env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_all_three_tags_for_this_app_and_env_count() {
        let ours = managed("shop", "prod");
        let pairs = || ours.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        assert!(is_managed_for(pairs(), "shop", "prod"));
        assert!(!is_managed_for(pairs(), "shop", "staging"));
        assert!(!is_managed_for(pairs(), "other", "prod"));
        assert!(!is_managed_for(
            pairs().filter(|(k, _)| *k != MANAGED),
            "shop",
            "prod"
        ));
    }
}
