// The cap table's dilution chart (Chart.js, vendored): fully diluted ownership by group at each financing,
// stacked to 100%, from the json_script beside it.
(function () {
  const canvas = document.getElementById("dilution-chart");
  const source = document.getElementById("dilution-data");
  if (!canvas || !source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const palette = ["#1f5fbf", "#0d9488", "#7c3aed", "#6b7280"];
  // Long class names go on several short lines under their bar, with the date last.
  function lines(label, date) {
    const out = [];
    for (const word of label.split(" ")) {
      const last = out.length - 1;
      if (last >= 0 && (out[last] + " " + word).length <= 14) out[last] += " " + word;
      else out.push(word);
    }
    return [...out, date];
  }
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels.map((label, i) => lines(label, data.dates[i])),
      datasets: data.groups.map((group, i) => ({
        label: group.label, data: group.values, backgroundColor: palette[i % palette.length],
      })),
    },
    options: {
      // Sized by its own container (a fixed height), which Chart.js needs to follow resizes reliably; the
      // canvas alone beside the card's note was once drawn a few dozen pixels wide.
      animation: false, maintainAspectRatio: false,
      plugins: {
        legend: { position: "bottom" },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${item.parsed.y.toFixed(2)}%` } },
      },
      scales: {
        x: { stacked: true, ticks: { maxRotation: 0, autoSkip: false, font: { size: 11 } } },
        y: { stacked: true, min: 0, max: 100, ticks: { callback: (value) => `${value}%` } },
      },
    },
  });
})();
