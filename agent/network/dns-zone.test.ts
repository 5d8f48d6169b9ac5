import type { Answer, RecordType } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { answerFromZone, inZone, reverseFromZone, reverseIPv4 } from './dns-zone.js';
import { FakeZone } from './testing/fake-zone.js';

const zone = new FakeZone()
  .addService('shop', 'web', {
    clusterIP: '172.30.0.5',
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
  })
  .addService('shop', 'db', { clusterIP: 'None', ports: [{ port: 5432 }] }, [
    '172.17.0.8',
    { ip: '172.17.0.7', hostname: 'db-0' },
  ])
  .addService('shop', 'empty', { clusterIP: 'None' }, []);

function ask(name: string, type: RecordType = 'A') {
  const answer = answerFromZone({ name, type }, zone);
  const data = (records: Answer[]) =>
    records.map((r) => `${r.type} ${(r as { data: unknown }).data as string}`);
  return { rcode: answer.rcode, answers: answer.answers, data: data(answer.answers), answer };
}

describe('answerFromZone', () => {
  it('answers a Service name with its ClusterIP, as asked (any case, trailing dot)', () => {
    expect(ask('web.shop.svc.cluster.local').data).toEqual(['A 172.30.0.5']);
    const mixed = ask('Web.Shop.SVC.cluster.local.');
    expect(mixed.data).toEqual(['A 172.30.0.5']);
    expect(mixed.answers[0]!.name).toBe('Web.Shop.SVC.cluster.local');
    expect(mixed.answers[0]).toMatchObject({ ttl: 5, class: 'IN' });
  });

  it('answers a headless Service with its ready pod IPs, and hostnames of its pods', () => {
    expect(ask('db.shop.svc.cluster.local').data).toEqual(['A 172.17.0.7', 'A 172.17.0.8']);
    expect(ask('db-0.db.shop.svc.cluster.local').data).toEqual(['A 172.17.0.7']);
    expect(ask('db-1.db.shop.svc.cluster.local').rcode).toBe('NXDOMAIN');
    // Known, nothing ready: the name exists without records.
    expect(ask('empty.shop.svc.cluster.local')).toMatchObject({ rcode: 'NOERROR', data: [] });
  });

  it('says NXDOMAIN for unknown names in the zone, with the SOA', () => {
    for (const name of [
      'nope.shop.svc.cluster.local',
      'web.other.svc.cluster.local',
      'other.svc.cluster.local',
      'web.shop.cluster.local',
      'x.web.shop.svc.cluster.local',
      'a.b.c.d.e.f.svc.cluster.local',
      'what.cluster.local',
    ]) {
      const r = ask(name);
      expect(r.rcode, name).toBe('NXDOMAIN');
      expect(r.answer.authorities[0]?.type, name).toBe('SOA');
    }
  });

  it('answers other types of known names with no records (AAAA: the cluster is IPv4)', () => {
    for (const name of [
      'web.shop.svc.cluster.local',
      'shop.svc.cluster.local',
      'svc.cluster.local',
      'cluster.local',
    ]) {
      const r = ask(name, 'AAAA');
      expect(r, name).toMatchObject({ rcode: 'NOERROR', data: [] });
      expect(r.answer.authorities[0]?.type, name).toBe('SOA');
    }
    expect(ask('cluster.local', 'SOA').answers[0]?.type).toBe('SOA');
  });

  it('answers SRV for named ports and pod names from their address', () => {
    const srv = answerFromZone(
      { name: '_http._tcp.web.shop.svc.cluster.local', type: 'SRV' },
      zone,
    );
    expect(srv.answers).toEqual([
      {
        type: 'SRV',
        name: '_http._tcp.web.shop.svc.cluster.local',
        ttl: 5,
        class: 'IN',
        data: { priority: 0, weight: 100, port: 80, target: 'web.shop.svc.cluster.local' },
      },
    ]);
    expect(srv.additionals[0]).toMatchObject({ type: 'A', data: '172.30.0.5' });
    expect(ask('_http._udp.web.shop.svc.cluster.local', 'SRV').rcode).toBe('NXDOMAIN');
    expect(ask('172-17-0-9.shop.pod.cluster.local').data).toEqual(['A 172.17.0.9']);
    expect(ask('172-17-0-999.shop.pod.cluster.local').rcode).toBe('NXDOMAIN');
  });

  it('knows which names are in the zone', () => {
    expect(inZone('cluster.local')).toBe(true);
    expect(inZone('web.shop.svc.cluster.local.')).toBe(true);
    expect(inZone('notcluster.local')).toBe(false);
    expect(inZone('example.com')).toBe(false);
  });
});

describe('reverseFromZone', () => {
  const ptr = (name: string, type: RecordType = 'PTR') => reverseFromZone({ name, type }, zone);

  it("names a ClusterIP's Service and a headless Service's pods", () => {
    expect(reverseIPv4('5.0.30.172.in-addr.arpa.')).toBe('172.30.0.5');
    expect(reverseIPv4('5.0.30.in-addr.arpa')).toBeUndefined();
    expect(reverseIPv4('300.0.30.172.in-addr.arpa')).toBeUndefined();
    expect(ptr('5.0.30.172.in-addr.arpa')).toMatchObject({
      rcode: 'NOERROR',
      answers: [
        { type: 'PTR', name: '5.0.30.172.in-addr.arpa', data: 'web.shop.svc.cluster.local' },
      ],
    });
    expect(ptr('7.0.17.172.in-addr.arpa')!.answers).toMatchObject([
      { data: 'db-0.db.shop.svc.cluster.local' },
    ]);
    expect(ptr('8.0.17.172.in-addr.arpa')!.answers).toMatchObject([
      { data: '172-17-0-8.db.shop.svc.cluster.local' },
    ]);
    // A known address asked for another type: no records.
    expect(ptr('5.0.30.172.in-addr.arpa', 'A')).toMatchObject({ rcode: 'NOERROR', answers: [] });
  });

  it('leaves other addresses and names to the upstream resolvers', () => {
    expect(ptr('1.2.0.192.in-addr.arpa')).toBeUndefined();
    // Not ready: not named.
    expect(ptr('99.99.99.10.in-addr.arpa')).toBeUndefined();
    expect(ptr('www.example.test', 'A')).toBeUndefined();
  });
});
