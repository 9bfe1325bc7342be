import { describe, expect, it } from 'vitest';
import { backendKey, RoundRobin, type Backend } from './round-robin.js';

const b = (ip: string, port = 8080): Backend => ({ ip, port, key: backendKey(ip, port) });

describe('RoundRobin', () => {
  it('rotates over every backend in order, skipping none', () => {
    const rr = new RoundRobin();
    rr.update([b('10.0.0.1'), b('10.0.0.2'), b('10.0.0.3')], 0);
    expect(Array.from({ length: 6 }, () => rr.next('1.1.1.1')?.ip)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1', '10.0.0.2', '10.0.0.3']);
  });

  it('has nothing to offer without backends', () => {
    const rr = new RoundRobin();
    expect(rr.next('1.1.1.1')).toBeUndefined();
    rr.update([b('10.0.0.1')], 0);
    rr.update([], 0);
    expect(rr.next('1.1.1.1')).toBeUndefined();
  });

  it('pins a client under ClientIP affinity until its idle timeout passes', () => {
    let now = 0;
    const rr = new RoundRobin(() => now);
    rr.update([b('10.0.0.1'), b('10.0.0.2')], 10);
    const first = rr.next('1.1.1.1')?.ip;
    expect(rr.next('2.2.2.2')?.ip).not.toBe(first);
    now = 9_000;
    expect(rr.next('1.1.1.1')?.ip).toBe(first); // refreshed at 9 s
    now = 18_500;
    expect(rr.next('1.1.1.1')?.ip).toBe(first);
    now = 28_600; // idle for 10.1 s: a fresh round-robin choice
    rr.next('1.1.1.1');
    expect(rr.pinned).toBe(2);
  });

  it('a retry drops the pin and moves to the next backend', () => {
    const rr = new RoundRobin(() => 0);
    rr.update([b('10.0.0.1'), b('10.0.0.2')], 10);
    expect(rr.next('1.1.1.1')?.ip).toBe('10.0.0.1');
    expect(rr.next('1.1.1.1', true)?.ip).toBe('10.0.0.2');
    expect(rr.next('1.1.1.1')?.ip).toBe('10.0.0.2');
  });

  it('a removed backend gets no new connection and loses its pinned clients', () => {
    const rr = new RoundRobin(() => 0);
    rr.update([b('10.0.0.1'), b('10.0.0.2')], 10);
    expect(rr.next('1.1.1.1')?.ip).toBe('10.0.0.1');
    rr.update([b('10.0.0.2'), b('10.0.0.3')], 10);
    expect(rr.next('1.1.1.1')?.ip).toBe('10.0.0.2');
    for (let i = 0; i < 10; i++) expect(rr.next(`9.9.9.${i}`)?.ip).not.toBe('10.0.0.1');
  });

  it('keeps its rotation when the same backends are given again', () => {
    const rr = new RoundRobin();
    rr.update([b('10.0.0.1'), b('10.0.0.2')], 0);
    rr.next('x');
    rr.update([b('10.0.0.1'), b('10.0.0.2')], 0);
    expect(rr.next('x')?.ip).toBe('10.0.0.2');
  });
});
