// Coalesce many updates into one render per animation frame.

/** Return a function that schedules `render` for the next frame, at most once per frame. */
export function frameScheduler(render) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      render();
    });
  };
}
