import { describe, expect, it } from 'vitest';
import { Grafana, type GrafanaOidcLogin, type GrafanaPublicAccess } from '../../../lib/lgtm/grafana.js';
import type { ConstructTestStack } from '../app-fixture.js';
import {
  containerNamed,
  containersOf,
  environmentOf,
  itMatchesTheSnapshot,
  resourcesOf,
  useLgtmTestStacks,
} from './lgtm-fixture.js';

const stacks = useLgtmTestStacks();

const PUBLIC: GrafanaPublicAccess = {
  domainName: 'grafana.example.com',
  certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100',
};

const OIDC: GrafanaOidcLogin = {
  name: 'Cognito',
  clientId: 'grafana-client',
  authUrl: 'https://auth.example.com/oauth2/authorize',
  tokenUrl: 'https://auth.example.com/oauth2/token',
  apiUrl: 'https://auth.example.com/oauth2/userInfo',
  roleAttributePath: "contains(groups[*], 'admins') && 'Admin' || 'Viewer'",
};

function grafanaStack(publicAccess?: GrafanaPublicAccess, oidc?: GrafanaOidcLogin) {
  const { built: grafana, fixture } = stacks.build(
    (stack, base) =>
      new Grafana(stack, 'Grafana', {
        ...base,
        image: base.versions.grafana,
        ...(publicAccess ? { publicAccess } : {}),
        ...(oidc ? { oidc } : {}),
      }),
  );
  return { grafana, fixture };
}

function typesOf(stack: ConstructTestStack): string[] {
  return Object.values(resourcesOf(stack.stack)).map((r) => r.Type);
}

describe('Grafana', () => {
  itMatchesTheSnapshot(() => grafanaStack(), 'matches the snapshot, inside the VPC only');

  it('has no load balancer without a domain and certificate: reachable only inside the VPC', () => {
    // Prepare and Act
    const { grafana, fixture } = grafanaStack();

    // Assess
    expect(typesOf(fixture)).not.toContain('AWS::ElasticLoadBalancingV2::LoadBalancer');
    expect(grafana.url).toBe('http://grafana.toilless.local:3000');
  });

  it('takes the admin password from Secrets Manager, never from a plain variable', () => {
    // Prepare and Act
    const { grafana, fixture } = grafanaStack();

    // Assess
    const main = containerNamed(containersOf(fixture.stack, 'Grafana'), 'Main');
    const secretId = fixture.stack.getLogicalId(grafana.adminPassword.node.defaultChild as never);
    expect(main.Secrets).toEqual([{ Name: 'GF_SECURITY_ADMIN_PASSWORD', ValueFrom: { Ref: secretId } }]);
    expect(environmentOf(main)).not.toHaveProperty('GF_SECURITY_ADMIN_PASSWORD');
    expect(environmentOf(main)).toMatchObject({
      GF_PATHS_PROVISIONING: '/var/lib/grafana/provisioning',
      GF_PATHS_DATA: '/var/lib/grafana-state',
    });
  });

  it('keeps its SQLite state on EFS as user 472, one task at a time', () => {
    // Prepare and Act
    const { fixture } = grafanaStack();

    // Assess
    const resources = Object.values(resourcesOf(fixture.stack));
    expect(resources.find((r) => r.Type === 'AWS::EFS::AccessPoint').Properties.PosixUser).toEqual({
      Uid: '472',
      Gid: '472',
    });
    const service = resources.find((r) => r.Type === 'AWS::ECS::Service');
    expect(service.Properties.DeploymentConfiguration).toMatchObject({
      MinimumHealthyPercent: 0,
      MaximumPercent: 100,
    });
  });

  it('serves HTTPS only on a public load balancer when a domain and certificate are given', () => {
    // Prepare and Act
    const { grafana, fixture } = grafanaStack(PUBLIC);

    // Assess
    const listeners = Object.values(resourcesOf(fixture.stack)).filter(
      (r) => r.Type === 'AWS::ElasticLoadBalancingV2::Listener',
    );
    expect(listeners).toHaveLength(1);
    expect(listeners[0].Properties).toMatchObject({
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: PUBLIC.certificateArn }],
    });
    expect(grafana.url).toBe('https://grafana.example.com');
    const main = containerNamed(containersOf(fixture.stack, 'Grafana'), 'Main');
    expect(environmentOf(main).GF_SERVER_ROOT_URL).toBe('https://grafana.example.com/');
  });

  it('refuses a certificate that is not an ACM ARN, saying what it expects', () => {
    // Act and Assess
    expect(() => grafanaStack({ ...PUBLIC, certificateArn: 'my-cert' })).toThrow(
      /certificateArn "my-cert" is not an ACM certificate ARN \(arn:aws:acm:<region>:<account>:certificate\/<id>\)/,
    );
  });

  it('signs people in through OIDC with the client secret from Secrets Manager, never a plain variable', () => {
    // Prepare and Act
    const { grafana, fixture } = grafanaStack(PUBLIC, OIDC);

    // Assess
    const main = containerNamed(containersOf(fixture.stack, 'Grafana'), 'Main');
    expect(environmentOf(main)).toMatchObject({
      GF_AUTH_GENERIC_OAUTH_ENABLED: 'true',
      GF_AUTH_GENERIC_OAUTH_NAME: 'Cognito',
      GF_AUTH_GENERIC_OAUTH_CLIENT_ID: 'grafana-client',
      GF_AUTH_GENERIC_OAUTH_SCOPES: 'openid email profile',
      GF_AUTH_GENERIC_OAUTH_TOKEN_URL: 'https://auth.example.com/oauth2/token',
      GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH: OIDC.roleAttributePath,
      GF_AUTH_GENERIC_OAUTH_USE_PKCE: 'true',
      GF_SERVER_ROOT_URL: 'https://grafana.example.com/',
    });
    expect(environmentOf(main)).not.toHaveProperty('GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET');
    const secretId = fixture.stack.getLogicalId(grafana.oidcClientSecret?.node.defaultChild as never);
    const secret = main.Secrets.find(
      (s: { Name: string }) => s.Name === 'GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET',
    );
    expect(JSON.stringify(secret.ValueFrom)).toContain(secretId);
  });

  it('has no OIDC settings or secret unless asked', () => {
    // Prepare and Act
    const { grafana, fixture } = grafanaStack(PUBLIC);

    // Assess
    const main = containerNamed(containersOf(fixture.stack, 'Grafana'), 'Main');
    expect(JSON.stringify(main)).not.toContain('GENERIC_OAUTH');
    expect(grafana.oidcClientSecret).toBeUndefined();
  });

  it('refuses OIDC sign-in without an HTTPS domain, or with a provider URL that is not https', () => {
    // Act and Assess
    expect(() => grafanaStack(undefined, OIDC)).toThrow(/oidc sign-in needs publicAccess/);
    expect(() => grafanaStack(PUBLIC, { ...OIDC, tokenUrl: 'http://auth.example.com/token' })).toThrow(
      /oidc.tokenUrl "http:\/\/auth.example.com\/token" is not an https:\/\/ URL/,
    );
  });
});
