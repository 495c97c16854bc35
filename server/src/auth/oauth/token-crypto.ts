export * from '@aegis/shared/crypto/token-crypto';
