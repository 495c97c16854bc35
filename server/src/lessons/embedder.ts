import { createHash } from 'node:crypto';
import type OpenAI from 'openai';

/**
 * Text embeddings for lessons. The default is deterministic feature hashing (no network, same
 * vector for the same text on every machine): word unigrams and bigrams hashed into `dims`
 * buckets with a hash-derived sign, weighted by log(1 + tf), L2-normalized — so cosine
 * similarity is a dot product. With an OpenAI key configured, the embeddings endpoint is used.
 * Each lesson stores the embedder's name; similarity only compares vectors of the same embedder.
 */
export interface Embedder {
  readonly name: string;
  embed(text: string): Promise<number[]>;
}

export const HASHING_DIMS = 256;

export class HashingEmbedder implements Embedder {
  readonly name: string;
  readonly #dims: number;

  constructor(dims = HASHING_DIMS) {
    this.#dims = dims;
    this.name = `hash-v1-${dims}`;
  }

  async embed(text: string): Promise<number[]> {
    return this.embedSync(text);
  }

  embedSync(text: string): number[] {
    const v = new Array<number>(this.#dims).fill(0);
    const words = tokens(text);
    const counts = new Map<string, number>();
    for (let i = 0; i < words.length; i++) {
      const w = words[i] as string;
      counts.set(w, (counts.get(w) ?? 0) + 1);
      if (i + 1 < words.length) {
        const bigram = `${w} ${words[i + 1]}`;
        counts.set(bigram, (counts.get(bigram) ?? 0) + 0.5);
      }
    }
    for (const [feature, tf] of counts) {
      const h = createHash('sha1').update(feature).digest();
      const bucket = h.readUInt32BE(0) % this.#dims;
      const sign = (h[4] as number) & 1 ? 1 : -1;
      v[bucket] = (v[bucket] as number) + sign * Math.log1p(tf);
    }
    return normalize(v);
  }
}

/** Lowercase words of letters/digits (keeps `btc-usd`, `mean_reversion` whole). */
export function tokens(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}_\-.]*/gu) ?? [];
}

export function normalize(v: number[]): number[] {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return norm > 0 ? v.map((x) => x / norm) : v;
}

export class OpenAIEmbedder implements Embedder {
  readonly name: string;
  readonly #client: OpenAI;
  readonly #model: string;

  constructor(client: OpenAI, model = 'text-embedding-3-small') {
    this.#client = client;
    this.#model = model;
    this.name = `openai-${model}`;
  }

  async embed(text: string): Promise<number[]> {
    const res = await this.#client.embeddings.create({ model: this.#model, input: text });
    const vector = res.data[0]?.embedding;
    if (!vector || vector.length === 0) throw new Error('embeddings response had no vector');
    return normalize(vector);
  }
}
