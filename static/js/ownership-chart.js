// The cap table's ownership doughnut (Chart.js, vendored): reads its data from the json_script beside it.
(function () {
  const canvas = document.getElementById("ownership-chart");
  const source = document.getElementById("ownership-data");
  if (!canvas || !source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const palette = ["#1f5fbf", "#7c3aed", "#0d9488", "#ea580c", "#be123c", "#4d7c0f", "#0369a1", "#a16207", "#6b7280"];
  new Chart(canvas, {
    type: "doughnut",
    data: {
      labels: data.labels,
      datasets: [{ data: data.values, backgroundColor: data.labels.map((_, i) => palette[i % palette.length]) }],
    },
    options: {
      animation: false,
      plugins: {
        legend: { position: "bottom" },
        tooltip: { callbacks: { label: (item) => `${item.label}: ${item.parsed.toFixed(2)}%` } },
      },
    },
  });
})();
