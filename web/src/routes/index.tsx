export default function Home() {
  return <h1>Aegis</h1>;
}
