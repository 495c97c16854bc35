import type { JSX } from 'solid-js';
import { BrandMark } from './icons.tsx';

/** The frame of the sign-in and password pages. */
export function AuthCard(props: { title: string; lede: string; children: JSX.Element }) {
  return (
    <main class="auth-page">
      <div class="auth-card">
        <span class="brand">
          <BrandMark />
          AEGIS
        </span>
        <h1>{props.title}</h1>
        <p class="lede">{props.lede}</p>
        {props.children}
        <p class="auth-foot">Access is provisioned by your desk administrator. All sign-ins are audited.</p>
      </div>
    </main>
  );
}
