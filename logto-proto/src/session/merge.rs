//! What a write lands as when the store changed since it was read: a three-way merge of the
//! session as read (`base`), as this call left it (`ours`) and as stored now (`stored`).

use crate::snapshot::{AccessToken, Snapshot, TokenTarget};

/// Applies what this call changed (`base` → `ours`) to what the store holds now: the
/// session to write, or `None` when it was signed out (or expired) or replaced by another
/// session meanwhile and this call only worked within it, so that nothing is written and the
/// stored session stays as it is.
///
/// - A refresh token this call received (rotated) replaces the stored one: it is the newest
///   the provider issued, and the one it replaced is consumed. A refresh token this call did
///   not change is never written: the stored one may be newer, and writing back a consumed
///   token would make the next refresh revoke the grant.
/// - A call within a session (refresh, userinfo, clearing tokens) never brings back a
///   session signed out meanwhile (`None`); a new sign-in or its callback
///   (the pending sign-in changed) starts a session of its own and is written.
/// - Access tokens are merged per target: ours where this call changed them; one this call
///   removed goes only if the store still holds the one removed. A new sign-in, a callback
///   and a sign-out replace the whole set.
/// - Another holder's lease in the store stays. (A session put in place of another, by a
///   device sign-in, starts without a lease: the old session's holders find it replaced.)
pub(crate) fn merge(
    base: &Snapshot,
    ours: &Snapshot,
    stored: &Snapshot,
    holder: &str,
) -> Option<Snapshot> {
    let new_session = ours.pending != base.pending;
    let signed_out_meanwhile =
        base.refresh_token.is_some() && stored.refresh_token.is_none() && stored.id_token.is_none();
    // This call rotated the refresh token, and the store holds another one than it read:
    // not a refresh of the same session (the lease keeps those one at a time) but a session
    // put in its place (a device sign-in replaces whatever is stored). Writing the rotation
    // would mix the two users' tokens.
    let replaced_meanwhile = ours.refresh_token.is_some()
        && ours.refresh_token != base.refresh_token
        && stored.refresh_token != base.refresh_token;
    if !new_session && (signed_out_meanwhile || replaced_meanwhile) {
        return None;
    }
    let mut out = stored.clone();
    if new_session {
        out.pending = ours.pending.clone();
    }
    if ours.id_token != base.id_token {
        out.set_id_token(ours.id_token.clone());
    }
    if ours.refresh_token != base.refresh_token {
        out.refresh_token = ours.refresh_token.clone();
    }
    let ended = base.refresh_token.is_some() && ours.refresh_token.is_none();
    if new_session || ended {
        out.access_tokens = ours.access_tokens.clone();
    } else {
        merge_access_tokens(base, ours, &mut out);
    }
    let theirs = out.lease.as_ref().is_some_and(|l| l.holder != holder);
    if ours.lease != base.lease && !theirs {
        out.lease = ours.lease.clone();
    }
    Some(out)
}

fn merge_access_tokens(base: &Snapshot, ours: &Snapshot, out: &mut Snapshot) {
    let find = |s: &Snapshot, target: &TokenTarget| -> Option<AccessToken> {
        s.access_tokens
            .iter()
            .find(|t| &t.target == target)
            .cloned()
    };
    let targets = base
        .access_tokens
        .iter()
        .chain(&ours.access_tokens)
        .map(|t| t.target.clone());
    for target in targets.collect::<Vec<_>>() {
        let (was, now) = (find(base, &target), find(ours, &target));
        if was == now {
            continue;
        }
        match now {
            Some(token) => out.store_access_token(token),
            None if find(out, &target) == was => out.clear_access_token(&target),
            None => {}
        }
    }
}
