declare global {
  namespace App {
    interface RequestEventLocals {
      /** Per-response CSP nonce for the inline hydration scripts (middleware.ts). */
      nonce?: string;
    }
  }
}

export {};
