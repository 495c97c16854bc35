// The browser tests' page.evaluate callbacks run in the page: the DOM types describe them (the
// tests' own tsconfig has Node's types only). Iterable and async-iterable with it, so Node's
// streams keep their iterators once the DOM's globals are in.
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="dom.asynciterable" />
