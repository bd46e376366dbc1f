"""The provider token catalogue: public formats (prefix, length, alphabet) of ~150 services.

Each rule names the literal its token starts with (`terms`, lower case, for the line
prefilter), the regex of the whole token, how many leading characters are fixed (the
rest must not be a placeholder), and an optional validator from `checks`.  Rules whose
token does not start with a literal (Azure AD secrets, Telegram bot tokens, Mailchimp
keys) set `infix`: a case-sensitive substring the line must contain before the regex
is searched.  Formats are from the providers' documentation and public scanner rules.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass

from . import checks

NB = r"(?<![A-Za-z0-9_])"  # left boundary for word-ish tokens
NBD = r"(?<![A-Za-z0-9_-])"  # left boundary for tokens whose charset includes '-'
_END = r"(?![A-Za-z0-9_])"
_ENDD = r"(?![A-Za-z0-9_-])"
_B62 = "[A-Za-z0-9]"
_HEX = "[a-f0-9]"
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@dataclass(frozen=True)
class Rule:
    rule_id: str
    description: str
    pattern: str
    prefix_len: int  # the fixed, public part; the rest must not be a placeholder
    check: Callable[[str], bool] | None = None
    terms: tuple[str, ...] = ()  # lower-case literals for the prefilter
    infix: str = ""  # for patterns that do not start on a literal
    # Lower-case literals the token starts with, where `terms` (chosen for the prefilter)
    # sit inside it: `https://` of a webhook URL is too common a term.
    starts: tuple[str, ...] = ()
    # A lower-case RE2 pattern the line prefilter looks for instead of `terms`, where the
    # literal is common text (`key-`, `pat`, `sl.`): the token's shape, not just its start.
    scan: str = ""


def _r(
    rule_id: str,
    description: str,
    prefix: str,
    body: str,
    *,
    check: Callable[[str], bool] | None = None,
    boundary: str = NB,
    end: str = _END,
    scan: str = "",
) -> Rule:
    """A token made of a literal prefix and a body pattern."""
    return Rule(
        rule_id,
        description,
        boundary + re.escape(prefix) + body + end,
        len(prefix),
        check,
        (prefix.lower(),),
        scan=scan,
    )


# Order matters where prefixes overlap: the first rule that matches and validates wins.
_RULES: tuple[Rule, ...] = (
    Rule(
        "aws-access-key-id",
        "AWS access key id",
        r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}(?![A-Za-z0-9])",
        4,
        None,
        ("akia", "asia", "abia", "acca", "a3t"),
    ),
    _r("aws-bedrock-api-key", "AWS Bedrock API key", "ABSK", r"[A-Za-z0-9+/]{100,}={0,2}"),
    _r(
        "aws-bedrock-api-key",
        "AWS Bedrock API key",
        "bedrock-api-key-",
        r"[A-Za-z0-9+/]{100,}={0,2}",
        boundary=NBD,
    ),
    _r("github-pat", "GitHub personal access token", "ghp_", _B62 + "{36}", check=checks.github),
    _r("github-oauth", "GitHub OAuth access token", "gho_", _B62 + "{36}", check=checks.github),
    _r("github-app-token", "GitHub app token", "ghu_", _B62 + "{36}", check=checks.github),
    _r("github-app-token", "GitHub app token", "ghs_", _B62 + "{36}", check=checks.github),
    _r("github-refresh-token", "GitHub refresh token", "ghr_", _B62 + "{36}", check=checks.github),
    _r(
        "github-fine-grained-pat",
        "GitHub fine-grained personal access token",
        "github_pat_",
        r"[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
    ),
    # GitLab: each token type has its own fixed length (routable tokens end `.xx` + 7).
    _r(
        "gitlab-pat",
        "GitLab personal access token",
        "glpat-",
        r"(?:[A-Za-z0-9_-]{27,300}\.[0-9a-z]{2}[0-9a-z]{7}|[A-Za-z0-9_-]{20})",
        boundary=NBD,
        end=_ENDD,
    ),
    _r(
        "gitlab-runner-token",
        "GitLab runner authentication token",
        "glrt-",
        r"(?:t\d_[A-Za-z0-9_-]{27,300}\.[0-9a-z]{2}[0-9a-z]{7}|[A-Za-z0-9_-]{20})",
        boundary=NBD,
        end=_ENDD,
    ),
    _r(
        "gitlab-runner-registration-token",
        "GitLab runner registration token",
        "GR1348941",
        r"[A-Za-z0-9_-]{20}",
        end=_ENDD,
    ),
    _r(
        "gitlab-token",
        "GitLab pipeline trigger token",
        "glptt-",
        _HEX + "{40}",
        boundary=NBD,
        end=_ENDD,
    ),
    _r(
        "gitlab-token",
        "GitLab CI job token",
        "glcbt-",
        r"[0-9a-zA-Z]{1,5}_[0-9a-zA-Z_-]{20}",
        boundary=NBD,
        end=_ENDD,
    ),
    *(
        _r(
            "gitlab-token",
            f"GitLab {what}",
            prefix,
            f"[0-9a-zA-Z_-]{{{n}}}",
            boundary=NBD,
            end=_ENDD,
        )
        for prefix, n, what in (
            ("gldt-", 20, "deploy token"),
            ("glffct-", 20, "feature flag client token"),
            ("glft-", 20, "feed token"),
            ("glimt-", 25, "incoming mail token"),
            ("glagent-", 50, "Kubernetes agent token"),
            ("gloas-", 64, "OAuth application secret"),
            ("glsoat-", 20, "SCIM token"),
        )
    ),
    _r("gitlab-session-cookie", "GitLab session cookie", "_gitlab_session=", "[0-9a-z]{32}"),
    # Slack: bot, user, legacy workspace (xoxa-2-, xoxr-), config tokens, app tokens.
    _r(
        "slack-token",
        "Slack bot token",
        "xoxb-",
        r"\d{8,14}-(?:\d{8,14}-)?[A-Za-z0-9]{18,34}",
        check=checks.slack,
        boundary=NBD,
        end=_ENDD,
    ),
    _r(
        "slack-token",
        "Slack user token",
        "xoxp-",
        r"\d{8,14}-\d{8,14}-\d{8,14}-[a-fA-F0-9]{28,34}",
        boundary=NBD,
        end=_ENDD,
    ),
    _r(
        "slack-token",
        "Slack token",
        "xoxe.xox",
        r"[bp]-\d-[A-Z0-9]{163,166}",
        boundary=NBD,
        end=_ENDD,
    ),
    _r("slack-token", "Slack refresh token", "xoxe-", r"\d-[A-Z0-9]{146}", boundary=NBD),
    Rule(
        "slack-token",
        "Slack legacy token",
        NBD + r"xox[os]-\d+-\d+-\d+-[a-fA-F0-9]+" + _ENDD,
        5,
        checks.slack,
        ("xoxo-", "xoxs-"),
    ),
    Rule(
        "slack-token",
        "Slack legacy workspace token",
        NBD + r"xox[ar]-(?:\d-)?[0-9a-zA-Z]{8,48}(?:-[0-9a-zA-Z]{8,64})*" + _ENDD,
        5,
        checks.slack,
        ("xoxa-", "xoxr-"),
    ),
    _r(
        "slack-app-token",
        "Slack app-level token",
        "xapp-",
        r"\d-[A-Z0-9]+-\d+-[a-z0-9]+",
        boundary=NBD,
        end=_ENDD,
    ),
    Rule(
        "slack-webhook-url",
        "Slack incoming webhook URL",
        r"(?<![\w.])(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/"
        r"[A-Za-z0-9+/_-]{20,}",
        30,
        None,
        ("hooks.slack.com", "https://hooks.slack.com", "http://hooks.slack.com"),
    ),
    Rule(
        "stripe-secret-key",
        "Stripe secret key",
        NB + r"sk_(?:live|test|prod)_[A-Za-z0-9]{10,247}" + _END,
        8,
        None,
        ("sk_live_", "sk_test_", "sk_prod_"),
    ),
    Rule(
        "stripe-restricted-key",
        "Stripe restricted key",
        NB + r"rk_(?:live|test|prod)_[A-Za-z0-9]{10,247}" + _END,
        8,
        None,
        ("rk_live_", "rk_test_", "rk_prod_"),
    ),
    _r("stripe-webhook-secret", "Stripe webhook signing secret", "whsec_", _B62 + "{32,}"),
    _r(
        "anthropic-admin-key",
        "Anthropic admin API key",
        "sk-ant-admin01-",
        r"[A-Za-z0-9_-]{93}AA",
        boundary=NBD,
        end=_ENDD,
    ),
    _r(
        "anthropic-api-key",
        "Anthropic API key",
        "sk-ant-api03-",
        r"[A-Za-z0-9_-]{93}AA",
        boundary=NBD,
        end=_ENDD,
    ),
    _r(
        "openrouter-api-key",
        "OpenRouter API key",
        "sk-or-v1-",
        _HEX + "{64}",
        boundary=NBD,
        end=_ENDD,
    ),
    # OpenAI keys carry `T3BlbkFJ` (base64 of "OpenAI") between two random halves.
    Rule(
        "openai-api-key",
        "OpenAI API key",
        NBD
        + r"sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,74}T3BlbkFJ[A-Za-z0-9_-]{20,74}"
        + _ENDD,
        3,
        None,
        ("sk-",),
    ),
    _r("google-api-key", "Google API key", "AIza", r"[A-Za-z0-9_-]{35}", boundary=NBD, end=_ENDD),
    _r(
        "google-oauth-client-secret",
        "Google OAuth client secret",
        "GOCSPX-",
        r"[A-Za-z0-9_-]{28}",
        boundary=NBD,
        end=_ENDD,
    ),
    _r(
        "google-oauth-token",
        "Google OAuth access token",
        "ya29.",
        r"[A-Za-z0-9_-]{30,}",
        boundary=NBD,
        end=_ENDD,
    ),
    Rule(
        "twilio-api-key",
        "Twilio API key",
        r"(?<![A-Za-z0-9])SK[0-9a-fA-F]{32}(?![A-Za-z0-9])",
        2,
        None,
        ("sk",),
    ),
    _r(
        "sendgrid-api-key",
        "SendGrid API key",
        "SG.",
        r"[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
        end=_ENDD,
    ),
    _r(
        "sendinblue-api-key",
        "Brevo (Sendinblue) API key",
        "xkeysib-",
        _HEX + "{64}-[A-Za-z0-9]{16}",
    ),
    _r("npm-token", "npm access token", "npm_", _B62 + "{36}"),
    Rule(
        "pypi-token",
        "PyPI upload token",
        r"pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,}",
        24,
        checks.pypi,
        ("pypi-age",),
    ),
    _r("rubygems-api-key", "RubyGems API key", "rubygems_", _HEX + "{48}"),
    _r("clojars-token", "Clojars deploy token", "CLOJARS_", "[a-z0-9]{60}"),
    _r("nuget-api-key", "NuGet API key", "oy2", "[a-z0-9]{43}"),
    _r(
        "dockerhub-pat",
        "Docker Hub personal access token",
        "dckr_pat_",
        r"[A-Za-z0-9_-]{27}",
        end=_ENDD,
    ),
    Rule(
        "age-secret-key",
        "age secret key",
        r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
        16,
        None,
        ("age-secret-key-1",),
    ),
    # A PEM private key written as base64 (kubeconfig `client-key-data`, Helm values, CI
    # variables): `LS0tLS1CRUdJTi` is base64 of `-----BEGIN`; the check decodes it.
    _r(
        "private-key",
        "private key (base64-encoded PEM)",
        "LS0tLS1CRUdJTi",
        r"[A-Za-z0-9+/]{80,20000}={0,2}",
        check=checks.base64_private_key,
        end=r"(?![A-Za-z0-9+/=])",
    ),
    # Grafana API keys are base64 JSON `{"k":"...`: they start like a JWT, so before it.
    _r("grafana-api-key", "Grafana API key", "eyJrIjoi", r"[A-Za-z0-9]{70,400}={0,3}"),
    _r("grafana-cloud-token", "Grafana Cloud API token", "glc_", r"[A-Za-z0-9+/]{32,400}={0,3}"),
    _r(
        "grafana-service-account-token",
        "Grafana service account token",
        "glsa_",
        r"[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}",
    ),
    Rule(
        "jwt",
        "JSON Web Token",
        NBD + r"eyJ[A-Za-z0-9_-]{8,512}\.ey[A-Za-z0-9_-]{8,}\.(?:[A-Za-z0-9_-]{16,})?",
        0,
        checks.jwt,
        ("eyj",),
    ),
    _r(
        "onepassword-service-token",
        "1Password service account token",
        "ops_eyJ",
        r"[A-Za-z0-9+/]{250,}={0,3}",
    ),
    Rule(
        "onepassword-secret-key",
        "1Password secret key",
        NB + r"A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}"
        r"-[A-Z0-9]{5}" + _END,
        3,
        None,
        ("a3-",),
    ),
    _r("adobe-client-secret", "Adobe client secret", "p8e-", r"[A-Za-z0-9]{32}"),
    _r("alibaba-access-key-id", "Alibaba Cloud AccessKey id", "LTAI", r"[A-Za-z0-9]{20}"),
    _r("artifactory-api-key", "Artifactory API key", "AKCp", _B62 + "{69}"),
    _r("artifactory-reference-token", "Artifactory reference token", "cmVmd", _B62 + "{59}"),
    _r("atlassian-api-token", "Atlassian API token", "ATATT3", r"[A-Za-z0-9_=-]{186}", end=_ENDD),
    _r(
        "bitbucket-app-password",
        "Bitbucket app password",
        "ATBB",
        r"[A-Za-z0-9_=.-]{32}",
        end=_ENDD,
    ),
    _r("clickhouse-cloud-key", "ClickHouse Cloud API secret", "4b1d", _B62 + "{38}"),
    _r(
        "cloudflare-origin-ca-key",
        "Cloudflare Origin CA key",
        "v1.0-",
        _HEX + "{24}-" + _HEX + "{146}",
    ),
    Rule(
        "databricks-token",
        "Databricks API token",
        NB + r"dapi[a-f0-9]{32}(?:-\d)?" + _END,
        4,
        None,
        ("dapi",),
    ),
    *(
        _r(f"digitalocean-{kind}", f"DigitalOcean {what}", prefix, _HEX + "{64}")
        for prefix, kind, what in (
            ("dop_v1_", "pat", "personal access token"),
            ("doo_v1_", "oauth-token", "OAuth token"),
            ("dor_v1_", "refresh-token", "OAuth refresh token"),
        )
    ),
    Rule(
        "doppler-token",
        "Doppler token",
        NB + r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9_-]{40,44}" + _ENDD,
        6,
        None,
        ("dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."),
    ),
    Rule(
        "duffel-token",
        "Duffel API token",
        NB + r"duffel_(?:test|live)_[A-Za-z0-9_=-]{43}" + _ENDD,
        12,
        None,
        ("duffel_",),
    ),
    _r("dynatrace-token", "Dynatrace API token", "dt0c01.", r"[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}"),
    Rule(
        "easypost-api-key",
        "EasyPost API key",
        NB + r"EZ[AT]K[A-Za-z0-9]{54}" + _END,
        4,
        None,
        ("ezak", "eztk"),
    ),
    Rule(
        "facebook-access-token",
        "Facebook access token",
        NB + r"EAA[MC][A-Za-z0-9]{100,}" + _END,
        4,
        None,
        ("eaam", "eaac"),
    ),
    Rule(
        "flutterwave-secret-key",
        "Flutterwave secret key",
        NB + r"FLWSECK(?:_TEST)?-[a-hA-H0-9]{12,32}(?:-X)?" + _END,
        8,
        None,
        ("flwseck",),
    ),
    Rule(
        "flyio-token",
        "Fly.io token",
        NB + r"(?:fo1_[\w-]{43}|fm1[ar]_[A-Za-z0-9+/]{100,}={0,3}|fm2_[A-Za-z0-9+/]{100,}={0,3})",
        4,
        None,
        ("fo1_", "fm1a_", "fm1r_", "fm2_"),
    ),
    _r("frameio-token", "Frame.io API token", "fio-u-", r"[A-Za-z0-9_=-]{64}", boundary=NBD),
    _r("figma-token", "Figma personal access token", "figd_", r"[A-Za-z0-9_-]{40}", end=_ENDD),
    Rule(
        "harness-token",
        "Harness access token",
        NB + r"(?:pat|sat)\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}" + _END,
        4,
        None,
        ("pat.", "sat."),
    ),
    Rule(
        "terraform-cloud-token",
        "Terraform Cloud / HashiCorp API token",
        NB + r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}" + _ENDD,
        0,
        None,
        ("atlasv1",),
        "atlasv1",
    ),
    _r("heroku-api-key", "Heroku API key", "HRKU-AA", r"[0-9A-Za-z_-]{58}", end=_ENDD),
    _r("huggingface-token", "Hugging Face access token", "hf_", r"[A-Za-z]{34}"),
    _r("huggingface-org-token", "Hugging Face organization token", "api_org_", r"[A-Za-z]{34}"),
    _r("infracost-token", "Infracost API token", "ico-", _B62 + "{32}", boundary=NBD),
    Rule(
        "intra42-client-secret",
        "Intra42 client secret",
        NBD + r"s-s4t2(?:ud|af)-[a-f0-9]{64}" + _END,
        9,
        None,
        ("s-s4t2",),
    ),
    _r("linear-api-key", "Linear API key", "lin_api_", r"[A-Za-z0-9]{40}"),
    Rule(
        "maxmind-license-key",
        "MaxMind license key",
        NB + r"[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk" + _END,
        0,
        None,
        ("_mmk",),
        "_mmk",
    ),
    _r("newrelic-user-key", "New Relic user API key", "NRAK-", r"[A-Z0-9]{27}", boundary=NBD),
    _r(
        "newrelic-insert-key",
        "New Relic insert key",
        "NRII-",
        r"[A-Za-z0-9_-]{32}",
        boundary=NBD,
        end=_ENDD,
    ),
    _r("newrelic-browser-key", "New Relic browser key", "NRJS-", _HEX + "{19}", boundary=NBD),
    _r("notion-token", "Notion API token", "ntn_", r"\d{11}[A-Za-z0-9]{35}"),
    _r("notion-token", "Notion integration secret", "secret_", _B62 + "{43}"),
    Rule(
        "octopus-deploy-key",
        "Octopus Deploy API key",
        NBD + r"API-[A-Z0-9]{26}" + _END,
        4,
        None,
        ("api-",),
    ),
    Rule(
        "openshift-token",
        "OpenShift user token",
        NB + r"sha256~[\w-]{43}" + _ENDD,
        7,
        None,
        ("sha256~",),
    ),
    _r("perplexity-api-key", "Perplexity API key", "pplx-", _B62 + "{48}", boundary=NBD),
    Rule(
        "planetscale-token",
        "PlanetScale token",
        NB + r"pscale_(?:tkn|oauth|pw)_[\w=.-]{32,64}" + _ENDD,
        11,
        None,
        ("pscale_",),
    ),
    _r(
        "postman-api-key",
        "Postman API key",
        "PMAK-",
        _HEX + "{24}-" + _HEX + "{34}",
        boundary=NBD,
    ),
    _r("prefect-api-key", "Prefect API key", "pnu_", _B62 + "{36}"),
    _r("pulumi-token", "Pulumi access token", "pul-", _HEX + "{40}", boundary=NBD),
    _r("readme-api-key", "ReadMe API key", "rdme_", "[a-z0-9]{70}"),
    _r("scalingo-token", "Scalingo API token", "tk-us-", r"[\w-]{48}", boundary=NBD, end=_ENDD),
    Rule(
        "sentry-token",
        "Sentry auth token",
        NB + r"(?:sntryu_[a-f0-9]{64}|sntrys_eyJ[A-Za-z0-9+/=]{50,400}_[A-Za-z0-9+/]{43})",
        7,
        None,
        ("sntryu_", "sntrys_"),
    ),
    Rule(
        "settlemint-token",
        "SettleMint access token",
        NB + r"sm_(?:aat|pat|sat)_[A-Za-z0-9]{16}" + _END,
        7,
        None,
        ("sm_aat_", "sm_pat_", "sm_sat_"),
    ),
    Rule(
        "shippo-token",
        "Shippo API token",
        NB + r"shippo_(?:live|test)_[a-fA-F0-9]{40}" + _END,
        12,
        None,
        ("shippo_",),
    ),
    Rule(
        "shopify-token",
        "Shopify access token",
        NB + r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}" + _END,
        6,
        None,
        ("shpat_", "shpca_", "shppa_", "shpss_"),
    ),
    Rule(
        "square-token",
        "Square access token",
        NB + r"(?:EAAA[\w-]{56,60}|sq0atp-[\w-]{22,60}|sq0csp-[\w-]{43})" + _ENDD,
        4,
        None,
        ("eaaa", "sq0atp-", "sq0csp-"),
    ),
    Rule(
        "sonarqube-token",
        "SonarQube token",
        NB + r"sq[pau]_[a-f0-9]{40}" + _END,
        4,
        None,
        ("sqp_", "sqa_", "squ_"),
    ),
    Rule(
        "sourcegraph-token",
        "Sourcegraph access token",
        NB + r"sgp_(?:[a-fA-F0-9]{16}_|local_)?[a-fA-F0-9]{40}" + _END,
        4,
        None,
        ("sgp_",),
    ),
    _r("supabase-token", "Supabase access token", "sbp_", _HEX + "{40}"),
    Rule(
        "tailscale-key",
        "Tailscale key",
        NBD + r"tskey-(?:api|auth|client|scim|webhook)-[A-Za-z0-9]{8,}-[A-Za-z0-9]{16,}" + _END,
        10,
        None,
        ("tskey-",),
    ),
    Rule(
        "vault-token",
        "HashiCorp Vault token",
        NB + r"(?:hvs\.[\w-]{90,120}|hvb\.[\w-]{138,300}|hvr\.[\w-]{90,120})" + _ENDD,
        4,
        None,
        ("hvs.", "hvb.", "hvr."),
    ),
    _r("buildkite-token", "Buildkite API token", "bkua_", _HEX + "{40}"),
    _r("circleci-token", "CircleCI personal token", "CCIPAT_", r"[A-Za-z0-9]{22}_[a-f0-9]{40}"),
    _r("deno-token", "Deno Deploy token", "ddp_", _B62 + "{36}"),
    _r("netlify-token", "Netlify access token", "nfp_", _B62 + "{36}"),
    _r("render-api-key", "Render API key", "rnd_", _B62 + "{32}"),
    _r("pinecone-api-key", "Pinecone API key", "pcsk_", r"[A-Za-z0-9_]{50,}"),
    _r("groq-api-key", "Groq API key", "gsk_", _B62 + "{52}"),
    _r("xai-api-key", "xAI API key", "xai-", _B62 + "{80}", boundary=NBD),
    _r("replicate-token", "Replicate API token", "r8_", _B62 + "{37}"),
    Rule(
        "langsmith-api-key",
        "LangSmith API key",
        NB + r"lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}" + _END,
        8,
        None,
        ("lsv2_",),
    ),
    _r(
        "contentful-token",
        "Contentful personal access token",
        "CFPAT-",
        r"[\w-]{43}",
        boundary=NBD,
        end=_ENDD,
    ),
    Rule(
        "mapbox-secret-token",
        "Mapbox secret token",
        NB + r"sk\.eyJ[A-Za-z0-9_-]{40,}\.[A-Za-z0-9_-]{20,}" + _ENDD,
        6,
        None,
        ("sk.eyj",),
    ),
    Rule(
        "razorpay-key",
        "Razorpay key",
        NB + r"rzp_(?:live|test)_[A-Za-z0-9]{14}" + _END,
        9,
        None,
        ("rzp_",),
    ),
    Rule(
        "braintree-token",
        "Braintree access token",
        NB + r"access_token\$(?:production|sandbox)\$[a-z0-9]{16}\$[a-f0-9]{32}",
        24,
        None,
        ("access_token$",),
    ),
    Rule(
        "firebase-fcm-key",
        "Firebase Cloud Messaging server key",
        NB + r"AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{134}",
        18,
        None,
        (":apa91b",),
        ":APA91b",
    ),
    Rule(
        "discord-webhook-url",
        "Discord webhook URL",
        r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{17,20}/[\w-]{60,68}",
        40,
        None,
        ("discord.com/api/webhooks", "discordapp.com/api/webhooks"),
        starts=("https://",),
    ),
    Rule(
        "teams-webhook-url",
        "Microsoft Teams webhook URL",
        r"https://[a-z0-9-]+\.webhook\.office\.com/webhookb2/"
        + _UUID
        + "@"
        + _UUID
        + r"/IncomingWebhook/[a-z0-9]{32}/"
        + _UUID,
        40,
        None,
        ("webhook.office.com",),
        starts=("https://",),
    ),
    Rule(
        "sidekiq-url",
        "Sidekiq Enterprise credentials in URL",
        r"https?://[a-f0-9]{8}:[a-f0-9]{8}@(?:gems|enterprise)\.contribsys\.com",
        8,
        None,
        ("contribsys.com",),
        starts=("http://", "https://"),
    ),
    # Prefixed formats from the providers' documentation.
    _r(
        "mailgun-api-key",
        "Mailgun API key",
        "key-",
        "[0-9a-z]{32}",
        end=_ENDD,
        scan="key-[0-9a-z]{32}",
    ),
    _r(
        "airtable-pat",
        "Airtable personal access token",
        "pat",
        r"[A-Za-z0-9]{14}\.[a-f0-9]{64}",
        scan=r"pat[0-9a-z]{14}\.[0-9a-f]{64}",
    ),
    _r("launchdarkly-token", "LaunchDarkly API access token", "api-", _UUID, end=_ENDD),
    _r(
        "launchdarkly-token",
        "LaunchDarkly server-side SDK key",
        "sdk-",
        _UUID,
        end=_ENDD,
        scan="sdk-[0-9a-f]{8}-[0-9a-f]{4}-",
    ),
    *(
        _r(
            "plaid-access-token",
            "Plaid access token",
            f"access-{env}-",
            _UUID,
            boundary=NBD,
            end=_ENDD,
        )
        for env in ("sandbox", "development", "production")
    ),
    _r("posthog-personal-key", "PostHog personal API key", "phx_", r"[A-Za-z0-9]{30,60}"),
    _r("typeform-token", "Typeform personal access token", "tfp_", r"[A-Za-z0-9_.-]{40,70}"),
    _r(
        "dropbox-token",
        "Dropbox short-lived access token",
        "sl.",
        r"(?:u\.)?[A-Za-z0-9_-]{130,1500}",
        end=_ENDD,
        scan=r"sl\.(?:u\.)?[0-9a-z_-]{130}",
    ),
    _r("yandex-api-key", "Yandex Cloud API key", "AQVN", r"[A-Za-z0-9_-]{35,38}", end=_ENDD),
    _r("yandex-api-key", "Yandex OAuth token", "y0_", r"[A-Za-z0-9_-]{55}", end=_ENDD),
    Rule(
        "zapier-webhook-url",
        "Zapier webhook URL",
        r"https://hooks\.zapier\.com/hooks/catch/\d{5,12}/[a-z0-9]{5,12}(?![a-z0-9])",
        40,
        None,
        ("hooks.zapier.com",),
        starts=("https://",),
    ),
    # Tokens that do not start on a literal: found through a marker inside them.
    Rule(
        "azure-ad-client-secret",
        "Azure AD client secret",
        r"(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])",
        6,
        None,
        ("q~",),
        "Q~",
    ),
    Rule(
        "telegram-bot-token",
        "Telegram bot token",
        r"(?<![\w:])\d{8,10}:AA[A-Za-z0-9_-]{33}(?![\w-])",
        13,
        None,
        (":aa",),
        ":AA",
    ),
    Rule(
        "discord-bot-token",
        "Discord bot token",
        r"(?<![\w.-])[MNO][A-Za-z0-9_-]{22,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}(?![\w-])",
        0,
        checks.discord,
        (),
        ".",
    ),
    Rule(
        "mailchimp-api-key",
        "Mailchimp API key",
        r"(?<![A-Za-z0-9])[a-f0-9]{32}-us\d{1,2}(?![A-Za-z0-9])",
        0,
        None,
        ("-us",),
        "-us",
    ),
    Rule(
        "twitter-bearer-token",
        "Twitter bearer token",
        r"(?<![A-Za-z0-9])A{22}[A-Za-z0-9%]{80,120}(?![A-Za-z0-9%])",
        22,
        None,
        ("aaaaaaaaaaaaaaaaaaaaaa",),
    ),
)


def _bounded(rule: Rule) -> Rule:
    """Every open repetition `{n,}` gets an upper bound.

    An unbounded run followed by a required character (`eyJ...` then `.`) makes the regex
    re-read the rest of the line from each start: quadratic on a minified one-line file.
    """
    return dataclasses.replace(rule, pattern=_OPEN_REPEAT_RE.sub(r"{\1,4096}", rule.pattern))


_OPEN_REPEAT_RE = re.compile(r"\{(\d+),\}")
RULES: tuple[Rule, ...] = tuple(_bounded(r) for r in _RULES)
