// In-memory storage for oidc-provider models, shared by every Provider instance the server
// builds (a key rotation rebuilds the Provider; sessions, grants and tokens must survive it).

const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
]);

/** One store for the whole process: `model:id` -> { payload, expiresAt }. */
const records = new Map();
/** grantId -> Set of `model:id` keys issued under that grant. */
const grants = new Map();
/** Session uid -> session id. */
const sessionUids = new Map();
/** Device flow user code -> id. */
const userCodes = new Map();

const nowMs = () => Date.now();

function live(key) {
  const record = records.get(key);
  if (!record) return undefined;
  if (record.expiresAt !== undefined && record.expiresAt <= nowMs()) {
    records.delete(key);
    return undefined;
  }
  return record.payload;
}

export class MemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? nowMs() + expiresIn * 1000 : undefined;
    records.set(key, { payload, expiresAt });

    if (GRANTABLE.has(this.model) && payload.grantId) {
      if (!grants.has(payload.grantId)) grants.set(payload.grantId, new Set());
      grants.get(payload.grantId).add(key);
    }
    if (this.model === 'Session' && payload.uid) sessionUids.set(payload.uid, id);
    if (payload.userCode) userCodes.set(payload.userCode, id);
  }

  async find(id) {
    return live(this.key(id));
  }

  async findByUid(uid) {
    const id = sessionUids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = userCodes.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const payload = live(this.key(id));
    if (payload) payload.consumed = Math.floor(nowMs() / 1000);
  }

  async destroy(id) {
    const key = this.key(id);
    const payload = live(key);
    records.delete(key);
    if (payload?.grantId) grants.get(payload.grantId)?.delete(key);
    if (payload?.uid && sessionUids.get(payload.uid) === id) sessionUids.delete(payload.uid);
  }

  async revokeByGrantId(grantId) {
    const members = grants.get(grantId);
    if (!members) return;
    for (const key of members) records.delete(key);
    grants.delete(grantId);
  }
}

/** Counts of live records per model, for the test controls. */
export function storageStats() {
  const counts = {};
  for (const key of records.keys()) {
    const [model] = key.split(':', 1);
    if (live(key) !== undefined) counts[model] = (counts[model] ?? 0) + 1;
  }
  return counts;
}
