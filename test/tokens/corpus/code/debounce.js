'use strict';

/**
 * Returns a function that delays calling `fn` until `wait` milliseconds
 * have passed without another call. The last arguments win.
 */
function debounce(fn, wait = 200, { leading = false } = {}) {
  let timer = null;
  let lastArgs = null;

  function flush() {
    timer = null;
    if (lastArgs !== null) {
      const args = lastArgs;
      lastArgs = null;
      fn.apply(this, args);
    }
  }

  const debounced = function (...args) {
    const callNow = leading && timer === null;
    lastArgs = callNow ? null : args;
    clearTimeout(timer);
    timer = setTimeout(flush.bind(this), wait);
    if (callNow) {
      fn.apply(this, args);
    }
  };

  debounced.cancel = () => {
    clearTimeout(timer);
    timer = null;
    lastArgs = null;
  };

  return debounced;
}

const search = debounce(async (query) => {
  const res = await fetch(`/api/search?q=${encodeURIComponent(query)}`);
  if (!res.ok) {
    console.error('search failed', res.status);
    return;
  }
  const { results } = await res.json();
  document.querySelector('#results').textContent = results.length + ' results';
}, 300);

document.querySelector('#q').addEventListener('input', (e) => search(e.target.value));

module.exports = { debounce };
