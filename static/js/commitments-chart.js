// Money committed to a round over time (Chart.js, vendored): bars per day, the running total as a line, and the
// round's target and maximum as flat lines, from the json_script beside the canvas.
(function () {
  const canvas = document.getElementById("commitments-chart");
  const source = document.getElementById("commitments-data");
  if (!canvas || !source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const flat = (value) => data.labels.map(() => Number(value));
  const dollars = (value) => "$" + Number(value).toLocaleString();
  new Chart(canvas, {
    data: {
      labels: data.labels,
      datasets: [
        { type: "bar", label: "Committed that day", data: data.daily.map(Number), backgroundColor: "#93c5fd" },
        { type: "line", label: "Running total", data: data.running.map(Number), borderColor: "#1f5fbf", tension: 0.2 },
        { type: "line", label: "Target", data: flat(data.target), borderColor: "#0d9488", borderDash: [6, 4], pointRadius: 0 },
        { type: "line", label: "Maximum", data: flat(data.maximum), borderColor: "#b91c1c", borderDash: [2, 4], pointRadius: 0 },
      ],
    },
    options: {
      animation: false, maintainAspectRatio: false,
      plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${dollars(item.parsed.y)}` } } },
      scales: { y: { beginAtZero: true, ticks: { callback: dollars } } },
    },
  });
})();
