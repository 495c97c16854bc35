import { Title } from '@solidjs/meta';
import type { JSX } from 'solid-js';

/** A console page's heading: the document title ("<title> · Aegis"), the h1 and a line under it. */
export function PageHeader(props: { title: string; sub: JSX.Element }) {
  return (
    <>
      <Title>{props.title} · Aegis</Title>
      <div class="page-header">
        <h1>{props.title}</h1>
        <span class="page-sub">{props.sub}</span>
      </div>
    </>
  );
}
