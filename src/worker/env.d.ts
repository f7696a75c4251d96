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
  }
}
