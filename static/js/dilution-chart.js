// The cap table's dilution chart (Chart.js, vendored): fully diluted ownership by group at each financing,
// stacked to 100%, from the json_script beside it.
(function () {
  const canvas = document.getElementById("dilution-chart");
  const source = document.getElementById("dilution-data");
  if (!canvas || !source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const palette = ["#1f5fbf", "#0d9488", "#7c3aed", "#6b7280"];
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels.map((label, i) => [label, data.dates[i]]),
      datasets: data.groups.map((group, i) => ({
        label: group.label, data: group.values, backgroundColor: palette[i % palette.length],
      })),
    },
    options: {
      plugins: {
        legend: { position: "bottom" },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${item.parsed.y.toFixed(2)}%` } },
      },
      scales: {
        x: { stacked: true },
        y: { stacked: true, min: 0, max: 100, ticks: { callback: (value) => `${value}%` } },
      },
    },
  });
})();
