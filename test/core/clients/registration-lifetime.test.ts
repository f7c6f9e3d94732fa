import { renewedRegistrationEnd } from '../../../lambda/core/clients/registration-lifetime';
import {
  AUTHORIZATION_CODE_GRANT_TYPE,
  type Client,
  DYNAMIC_CLIENT_ID_PREFIX,
  REFRESH_TOKEN_GRANT_TYPE,
} from '../../../lambda/core/model';
import { createTokenEndpoint } from '../../../lambda/core/token-endpoint';
import { NOW, testConfig, tokenRequest } from '../../support/fixture';
import { createInteractiveFixture, REDIRECT_URI, signInFirstParty } from '../../support/interactive';
import { MemoryClientRegistrations } from '../../support/memory';
import { expectIssued } from '../../support/outcome';

const DAY = 86400;
const LIFETIME = 30 * DAY;
const DCR_ON = { dynamicClientRegistration: { enabled: true, maxClients: 10, unusedLifetimeSeconds: LIFETIME } };
const CLIENT_ID = `${DYNAMIC_CLIENT_ID_PREFIX}${'r'.repeat(43)}`;

describe('renewedRegistrationEnd', () => {
  const dynamic = (registrationEndsAt?: number): Client => ({
    clientId: CLIENT_ID,
    authMethod: 'none',
    secrets: [],
    grantTypes: [AUTHORIZATION_CODE_GRANT_TYPE],
    tenants: ['*'],
    enabled: true,
    ...(registrationEndsAt === undefined ? {} : { registrationEndsAt }),
  });

  it('leaves every client that is not dynamically registered alone', () => {
    expect(renewedRegistrationEnd(dynamic(), NOW, LIFETIME)).toBeUndefined();
  });

  it('moves the end to a whole lifetime from now once it would gain a day, not before', () => {
    // Registered just now, or renewed under a day ago: no write.
    expect(renewedRegistrationEnd(dynamic(NOW + LIFETIME), NOW, LIFETIME)).toBeUndefined();
    expect(renewedRegistrationEnd(dynamic(NOW + LIFETIME - DAY + 1), NOW, LIFETIME)).toBeUndefined();
    expect(renewedRegistrationEnd(dynamic(NOW + LIFETIME - DAY), NOW, LIFETIME)).toBe(NOW + LIFETIME);
    expect(renewedRegistrationEnd(dynamic(NOW + 60), NOW, LIFETIME)).toBe(NOW + LIFETIME);
  });

  it('steps by a tenth of a short lifetime', () => {
    const hour = 3600;
    expect(renewedRegistrationEnd(dynamic(NOW + hour - 359), NOW, hour)).toBeUndefined();
    expect(renewedRegistrationEnd(dynamic(NOW + hour - 360), NOW, hour)).toBe(NOW + hour);
  });
});

/**
 * A dynamically registered client keeps its registration while it obtains tokens: through the token endpoint, with
 * the code and the refresh grants. (The client is marked first party here only to skip the consent page in the
 * in-memory flow: a real registration never is, which the registration tests check.)
 */
describe('a dynamically registered client in use', () => {
  async function setup(options: { endsIn: number; dcr?: boolean }) {
    const x = await createInteractiveFixture();
    const registrations = new MemoryClientRegistrations();
    const endsAt = NOW + options.endsIn;
    registrations.ends.set(CLIENT_ID, endsAt);
    x.f.registry.clients.set(CLIENT_ID, {
      clientId: CLIENT_ID,
      authMethod: 'none',
      secrets: [],
      grantTypes: [AUTHORIZATION_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE],
      tenants: ['*'],
      enabled: true,
      redirectUris: [REDIRECT_URI],
      firstParty: true,
      registrationEndsAt: endsAt,
    });
    const config = testConfig(options.dcr === false ? {} : DCR_ON);
    const token = createTokenEndpoint({ ...x.f, config, grants: x.grants, registrations });
    return { x: { ...x, token }, registrations, token, endsAt };
  }

  it('moves its registration on when a code is redeemed, and says so in the audit record', async () => {
    const { x, registrations } = await setup({ endsIn: 10 * DAY });
    const { redeem } = await signInFirstParty(x, CLIENT_ID);
    const outcome = await redeem();
    expectIssued(outcome);
    expect(outcome.audit.registration).toBe('extended');
    expect(registrations.ends.get(CLIENT_ID)).toBe(NOW + LIFETIME);
  });

  it('moves it on when a refresh token is used', async () => {
    const { x, registrations, token } = await setup({ endsIn: LIFETIME });
    const { redeem } = await signInFirstParty(x, CLIENT_ID);
    const first = await redeem();
    // Just registered: nothing to move yet.
    expect(first.audit.registration).toBeUndefined();
    expect(registrations.ends.get(CLIENT_ID)).toBe(NOW + LIFETIME);

    x.f.clock.seconds = NOW + 5 * DAY;
    const refreshed = await token(
      tokenRequest(undefined, {
        authorization: null,
        form: {
          grant_type: REFRESH_TOKEN_GRANT_TYPE,
          refresh_token: expectIssued(first).refresh_token,
          client_id: CLIENT_ID,
        },
      }),
    );
    expectIssued(refreshed);
    expect(refreshed.audit.registration).toBe('extended');
    expect(registrations.ends.get(CLIENT_ID)).toBe(NOW + 5 * DAY + LIFETIME);
  });

  it('issues the token all the same when the registration cannot be written, and audits that', async () => {
    const { x, registrations } = await setup({ endsIn: 10 * DAY });
    registrations.failing = true;
    const { redeem } = await signInFirstParty(x, CLIENT_ID);
    const outcome = await redeem();
    expectIssued(outcome);
    expect(outcome.audit.registration).toBe('not_extended');
  });

  it('writes nothing when registration is off, or for a registered client', async () => {
    const off = await setup({ endsIn: 10 * DAY, dcr: false });
    const outcome = await (await signInFirstParty(off.x, CLIENT_ID)).redeem();
    expectIssued(outcome);
    expect(outcome.audit.registration).toBeUndefined();
    expect(off.registrations.ends.get(CLIENT_ID)).toBe(off.endsAt);

    const on = await setup({ endsIn: 10 * DAY });
    const registered = await (await signInFirstParty(on.x, 'desktop-app')).redeem();
    expectIssued(registered);
    expect(registered.audit.registration).toBeUndefined();
  });
});
