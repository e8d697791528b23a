import { describe, expect, it } from 'vitest';
import { elsewhere } from './variant';

describe('elsewhere', () => {
  const domains = { a: 'https://a.billpay.example.com/', b: 'https://b.billpay.example.com/' };
  it('sends a customer of B who opened A to B, and leaves one already there', () => {
    expect(elsewhere(domains, 'b', 'https://a.billpay.example.com/')).toBe('https://b.billpay.example.com/');
    expect(elsewhere(domains, 'b', 'https://b.billpay.example.com/?x=1')).toBeNull();
    expect(elsewhere(domains, 'a', 'https://a.billpay.example.com/index.html')).toBeNull();
  });
  it('works with paths on one site, as billpay serve has them', () => {
    const paths = { a: '/a/', b: '/b/' };
    expect(elsewhere(paths, 'b', 'http://localhost:8080/a/')).toBe('http://localhost:8080/b/');
    expect(elsewhere(paths, 'a', 'http://localhost:8080/a/')).toBeNull();
  });
  it('stays put when the app for the variant is not known', () => {
    expect(elsewhere(undefined, 'b', 'http://localhost:8080/a/')).toBeNull();
    expect(elsewhere({ a: '/a/' }, 'b', 'http://localhost:8080/a/')).toBeNull();
  });
  it('tells loopback ports apart', () => {
    const ports = { a: 'http://localhost:4001/', b: 'http://localhost:4002/' };
    expect(elsewhere(ports, 'b', 'http://localhost:4001/')).toBe('http://localhost:4002/');
  });
});
