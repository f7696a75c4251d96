// Optional secrets and vars (not listed in wrangler.toml, so `wrangler types` cannot know them).
declare namespace Cloudflare {
  interface Env {
    GITHUB_TOKEN?: string;
    GITHUB_APP_ID?: string;
    GITHUB_APP_PRIVATE_KEY?: string;
    GITHUB_APP_INSTALLATION_ID?: string;
    SLACK_NOTIFY_WEBHOOK_URL?: string;
    CF_ACCESS_TEAM_DOMAIN?: string;
    CF_ACCESS_AUD?: string;
    // trust and hygiene (issue 12)
    GITHUB_WEBHOOK_SECRET?: string;
    SLACK_SIGNING_SECRET?: string;
    GITHUB_WEBHOOK_SECRET_PREVIOUS?: string;
    SLACK_SIGNING_SECRET_PREVIOUS?: string;
    CF_ACCESS_CLIENT_ID?: string;
    CF_ACCESS_CLIENT_SECRET?: string;
    SLACK_RESPONSE_ORIGIN?: string;
    RETENTION_DAYS?: string;
  }
}
