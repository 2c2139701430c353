//! A command-line tool signed in as its user: a Logto native app, its session kept in the
//! user's config directory (one profile per `LOGTO_PROFILE`).
//!
//! ```sh
//! export LOGTO_ENDPOINT=https://tenant.logto.app LOGTO_APP_ID=<native app id>
//! export LOGTO_RESOURCES=https://api.example.com LOGTO_SCOPES="read:data"
//! cargo run -p logto-ureq --example cli -- sign-in            # the system browser, loopback
//! cargo run -p logto-ureq --example cli -- sign-in --device   # a code to enter elsewhere
//! cargo run -p logto-ureq --example cli -- whoami
//! cargo run -p logto-ureq --example cli -- token https://api.example.com [--org <id>]
//! cargo run -p logto-ureq --example cli -- exchange --pat <token | -> [--resource <api>] [--org <id>]
//! cargo run -p logto-ureq --example cli -- sign-out
//! ```
//!
//! A later run reuses the stored session and refreshes tokens when needed. `LOGTO_NO_BROWSER=1`
//! prints the sign-in URL without opening a browser. Exit codes: 0 done, 1 refused or failed,
//! 2 bad configuration or usage.

use logto_ureq::{
    BrowserSignIn, Error, FileStore, LogtoClient, LogtoConfig, TokenExchange, TokenTarget,
};
use std::process::exit;

const APP_NAME: &str = "logto-cli";
const USAGE: &str =
    "usage: cli sign-in [--device | --browser] | whoami | token <resource> [--org <id>] \
                     | exchange --pat <token> [--resource <api>] [--org <id>] | sign-out";

fn main() {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = LogtoConfig::from_vars(var).unwrap_or_else(|e| bad_configuration(&e.to_string()));
    let profile = var("LOGTO_PROFILE").unwrap_or_else(|| "default".into());
    let store = FileStore::for_profile(APP_NAME, &profile)
        .unwrap_or_else(|e| bad_configuration(&format!("profile `{profile}`: {e}")));
    let client = LogtoClient::with_storage(config, store)
        .unwrap_or_else(|e| bad_configuration(&e.to_string()));
    let open_browser = var("LOGTO_NO_BROWSER").is_none();
    let outcome = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["sign-in"] | ["sign-in", "--browser"] => sign_in_with_browser(&client, open_browser),
        ["sign-in", "--device"] => sign_in_with_device(&client),
        ["whoami"] => whoami(&client),
        ["token", resource] => token(&client, TokenTarget::resource(*resource)),
        ["token", resource, "--org", org] => token(
            &client,
            TokenTarget::resource_in_organization(*resource, *org),
        ),
        ["exchange", "--pat", pat, rest @ ..] => exchange(&client, pat, rest),
        ["sign-out"] => sign_out(&client),
        _ => bad_configuration(USAGE),
    };
    if let Err(e) = outcome {
        eprintln!("error ({}): {e}", e.kind());
        exit(1);
    }
}

fn bad_configuration(message: &str) -> ! {
    eprintln!("{message}");
    exit(2)
}

fn sign_in_with_browser(client: &LogtoClient, open_browser: bool) -> Result<(), Error> {
    let sign_in = BrowserSignIn::new().open_browser(open_browser);
    let claims = client.sign_in_with_browser(sign_in, |url| {
        eprintln!("Sign in at this URL (opening your browser if there is one):\n{url}");
    })?;
    eprintln!(
        "Signed in as {}",
        claims.username.as_deref().unwrap_or(&claims.sub)
    );
    Ok(())
}

fn sign_in_with_device(client: &LogtoClient) -> Result<(), Error> {
    let device = client.start_device_sign_in()?;
    eprintln!(
        "On another device, open {} and enter the code {}",
        device.verification_uri(),
        device.user_code()
    );
    if let Some(complete) = device.verification_uri_complete() {
        eprintln!("(or open {complete})");
    }
    let claims = client.complete_device_sign_in(&device)?;
    eprintln!(
        "Signed in as {}",
        claims.username.as_deref().unwrap_or(&claims.sub)
    );
    Ok(())
}

fn whoami(client: &LogtoClient) -> Result<(), Error> {
    let claims = client.id_token_claims()?;
    let shown = serde_json::json!({
        "sub": claims.sub,
        "username": claims.username,
        "name": claims.name,
        "email": claims.email,
    });
    println!("{shown}");
    Ok(())
}

fn token(client: &LogtoClient, target: TokenTarget) -> Result<(), Error> {
    let token = client.token_for(&target)?;
    println!("{}", token.token.expose());
    Ok(())
}

fn exchange(client: &LogtoClient, pat: &str, options: &[&str]) -> Result<(), Error> {
    // `--pat -` reads it from stdin, so that it shows in no process list or shell history.
    let pat = match pat {
        "-" => {
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_err() || line.trim().is_empty() {
                bad_configuration("--pat -: no token on stdin");
            }
            line.trim().to_owned()
        }
        pat => pat.to_owned(),
    };
    let mut exchange = TokenExchange::personal_access_token(pat);
    for pair in options.chunks(2) {
        exchange = match pair {
            ["--resource", resource] => exchange.resource(*resource),
            ["--org", org] => exchange.organization(*org),
            _ => bad_configuration(USAGE),
        };
    }
    let token = client.exchange_token(exchange)?;
    println!("{}", token.token.expose());
    Ok(())
}

fn sign_out(client: &LogtoClient) -> Result<(), Error> {
    let result = client.sign_out_with_result(None)?;
    eprintln!(
        "Signed out (refresh token revoked: {:?})",
        result.revocation
    );
    Ok(())
}
